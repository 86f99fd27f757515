/**
 * Environment contract of the enrichment function. The infrastructure component sets exactly
 * these variables (see lambda-src/README.md); everything is validated once, at init, and a bad
 * value fails with a message naming the variable and what is allowed.
 */

export interface EnrichmentConfig {
  /** DynamoDB lookup table (partition key `pk`, string = customer_id). */
  readonly lookupTableName: string;
  /** Kinesis stream the enriched events are written to. */
  readonly outputStreamName: string;
  /** SQS queue URL for malformed records. */
  readonly dlqUrl: string;
  /** DAX cluster discovery endpoint (`dax://…` / `daxs://…`); undefined = DynamoDB directly. */
  readonly daxEndpoint: string | undefined;
  /** LRU capacity of the in-process profile cache; 0 disables the cache. */
  readonly cacheMaxEntries: number;
  /**
   * Byte bound of the profile cache: the UTF-8 size of the cached JSON text of each profile plus
   * its key and a fixed per-entry overhead (lru-cache.ts); 0 disables the cache.
   */
  readonly cacheMaxBytes: number;
  /** Time-to-live of cached profiles (and of cached "unknown customer" answers); 0 disables the cache. */
  readonly cacheTtlSeconds: number;
  /** Largest accepted record, in bytes: decoded input data, and enriched output data + partition key. */
  readonly maxRecordBytes: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const LIMITS = {
  cacheMaxEntries: { min: 0, max: 1_000_000, default: 10_000 },
  // 64 MiB default fits the component's 256 MB function next to the runtime and one batch; the
  // `cache_max_bytes` Terraform variable of lambda-enrichment declares the same range.
  cacheMaxBytes: { min: 0, max: 1_073_741_824, default: 67_108_864 },
  cacheTtlSeconds: { min: 0, max: 86_400, default: 300 },
  // Kinesis caps one record (data + partition key) at 1 MiB, so the upper bound is fixed.
  maxRecordBytes: { min: 1_024, max: 1_048_576, default: 1_048_576 },
} as const;

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'];

type Env = Record<string, string | undefined>;

function value(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  return trimmed === '' ? undefined : trimmed;
}

function required(env: Env, name: string, what: string, pattern: RegExp, allowed: string): string {
  const v = value(env, name);
  if (v === undefined) {
    throw new ConfigError(`${name} is required: ${what} (${allowed})`);
  }
  if (!pattern.test(v)) {
    throw new ConfigError(`${name}=${JSON.stringify(v)} is invalid: ${what} must be ${allowed}`);
  }
  return v;
}

function integer(env: Env, name: string, limit: { min: number; max: number; default: number }): number {
  const v = value(env, name);
  if (v === undefined) return limit.default;
  const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < limit.min || n > limit.max) {
    throw new ConfigError(
      `${name}=${JSON.stringify(v)} is invalid: must be an integer between ${limit.min} and ${limit.max} ` +
        `(default ${limit.default})`,
    );
  }
  return n;
}

/** Parses and validates the environment; throws {@link ConfigError} on the first bad variable. */
export function loadConfig(env: Env): EnrichmentConfig {
  const lookupTableName = required(
    env,
    'LOOKUP_TABLE_NAME',
    'the DynamoDB lookup table name',
    /^[A-Za-z0-9_.-]{3,255}$/,
    '3-255 characters of A-Z a-z 0-9 _ . -',
  );
  const outputStreamName = required(
    env,
    'OUTPUT_STREAM_NAME',
    'the output Kinesis stream name',
    /^[A-Za-z0-9_.-]{1,128}$/,
    '1-128 characters of A-Z a-z 0-9 _ . -',
  );
  const dlqUrl = required(
    env,
    'DLQ_URL',
    'the SQS dead-letter queue URL',
    /^https?:\/\/[^\s/]+\/[^\s]+$/,
    'an SQS queue URL such as https://sqs.<region>.amazonaws.com/<account>/<queue>',
  );
  const daxEndpoint = value(env, 'DAX_ENDPOINT');
  if (daxEndpoint !== undefined && !/^daxs?:\/\/[^\s/:]+(:\d{1,5})?\/?$/.test(daxEndpoint)) {
    throw new ConfigError(
      `DAX_ENDPOINT=${JSON.stringify(daxEndpoint)} is invalid: must be empty (DynamoDB directly) or a DAX ` +
        'cluster discovery endpoint dax://host[:port] or daxs://host[:port]',
    );
  }
  const logLevel = value(env, 'POWERTOOLS_LOG_LEVEL');
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel.toUpperCase())) {
    throw new ConfigError(
      `POWERTOOLS_LOG_LEVEL=${JSON.stringify(logLevel)} is invalid: must be one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return {
    lookupTableName,
    outputStreamName,
    dlqUrl,
    daxEndpoint,
    cacheMaxEntries: integer(env, 'CACHE_MAX_ENTRIES', LIMITS.cacheMaxEntries),
    cacheMaxBytes: integer(env, 'CACHE_MAX_BYTES', LIMITS.cacheMaxBytes),
    cacheTtlSeconds: integer(env, 'CACHE_TTL_SECONDS', LIMITS.cacheTtlSeconds),
    maxRecordBytes: integer(env, 'MAX_RECORD_BYTES', LIMITS.maxRecordBytes),
  };
}
