/**
 * Environment contract of the enrichment function. The infrastructure component sets exactly
 * these variables (see lambda-src/README.md); everything is validated once, at init, and a bad
 * value fails with a message naming the variable and what is allowed.
 *
 * This file is the one declaration of that contract: components/lambda-enrichment takes the
 * variable names ({@link ENV}), the numeric ranges ({@link LIMITS}), the patterns
 * ({@link PATTERNS}) and the log levels ({@link LOG_LEVELS}) from here (through its contract.ts),
 * so the Terraform variables accept exactly what the handler accepts. Keep it free of CDKTF.
 */

export interface EnrichmentConfig {
  /** DynamoDB lookup table (partition key `pk`, string = customer_id). */
  readonly lookupTableName: string;
  /** Kinesis stream the enriched events are written to. */
  readonly outputStreamName: string;
  /** SQS queue URL for malformed records. */
  readonly dlqUrl: string;
  /** DAX cluster discovery endpoint over TLS (`daxs://…`); undefined = DynamoDB directly. */
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

/**
 * Every environment variable the handler reads (the Lambda runtime's own, such as AWS_REGION,
 * aside), by the field or setting it feeds. The component sets exactly these.
 */
export const ENV = {
  lookupTableName: 'LOOKUP_TABLE_NAME',
  outputStreamName: 'OUTPUT_STREAM_NAME',
  dlqUrl: 'DLQ_URL',
  daxEndpoint: 'DAX_ENDPOINT',
  cacheMaxEntries: 'CACHE_MAX_ENTRIES',
  cacheMaxBytes: 'CACHE_MAX_BYTES',
  cacheTtlSeconds: 'CACHE_TTL_SECONDS',
  maxRecordBytes: 'MAX_RECORD_BYTES',
  /** Powertools: `service` in the logs and the metrics' dimension. */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  /** Powertools: CloudWatch namespace of the EMF metrics. */
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  /** Powertools: log level, one of {@link LOG_LEVELS} (any case). */
  logLevel: 'POWERTOOLS_LOG_LEVEL',
} as const;

/**
 * Patterns of the string settings, as bodies that mean the same in RE2 (Terraform validations),
 * ECMAScript (JSON Schema, this handler) and Java: no anchors, no lookaround, no `\d`.
 */
export const PATTERNS = {
  lookupTableName: { regex: '[A-Za-z0-9_.-]{3,255}', hint: '3-255 letters, digits, "_", "." or "-"' },
  outputStreamName: { regex: '[A-Za-z0-9_.-]{1,128}', hint: '1-128 letters, digits, "_", "." or "-"' },
  // daxs:// only: the cluster (dynamodb-lookup) encrypts its endpoint with TLS and serves
  // daxs:// on 9111; dax:// (plain, 8111) would be refused by it and by the function's egress.
  daxEndpoint: { regex: 'daxs://[a-z0-9.-]+(:[0-9]{1,5})?', hint: 'a daxs://host[:port] endpoint' },
} as const;

/** Powertools Logger's levels (`LogLevel` of @aws-lambda-powertools/logger 2.x). */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;

export const LIMITS = {
  cacheMaxEntries: { min: 0, max: 1_000_000, default: 10_000 },
  // 64 MiB default fits the component's 256 MB function next to the runtime and one batch; the
  // `cache_max_bytes` Terraform variable of lambda-enrichment declares the same range.
  cacheMaxBytes: { min: 0, max: 1_073_741_824, default: 67_108_864 },
  cacheTtlSeconds: { min: 0, max: 86_400, default: 300 },
  // Kinesis caps one record (data + partition key) at 1 MiB, so the upper bound is fixed.
  maxRecordBytes: { min: 1_024, max: 1_048_576, default: 1_048_576 },
} as const;

type Env = Record<string, string | undefined>;

/** A whole-string matcher for one of {@link PATTERNS}. */
const anchored = (regex: string): RegExp => new RegExp(`^(?:${regex})$`);

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
    ENV.lookupTableName,
    'the DynamoDB lookup table name',
    anchored(PATTERNS.lookupTableName.regex),
    PATTERNS.lookupTableName.hint,
  );
  const outputStreamName = required(
    env,
    ENV.outputStreamName,
    'the output Kinesis stream name',
    anchored(PATTERNS.outputStreamName.regex),
    PATTERNS.outputStreamName.hint,
  );
  const dlqUrl = required(
    env,
    ENV.dlqUrl,
    'the SQS dead-letter queue URL',
    /^https?:\/\/[^\s/]+\/[^\s]+$/,
    'an SQS queue URL such as https://sqs.<region>.amazonaws.com/<account>/<queue>',
  );
  const daxEndpoint = value(env, ENV.daxEndpoint);
  if (daxEndpoint !== undefined && !anchored(PATTERNS.daxEndpoint.regex).test(daxEndpoint)) {
    throw new ConfigError(
      `${ENV.daxEndpoint}=${JSON.stringify(daxEndpoint)} is invalid: must be empty (DynamoDB directly) or ` +
        PATTERNS.daxEndpoint.hint,
    );
  }
  const logLevel = value(env, ENV.logLevel);
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel.toUpperCase())) {
    throw new ConfigError(
      `${ENV.logLevel}=${JSON.stringify(logLevel)} is invalid: must be one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return {
    lookupTableName,
    outputStreamName,
    dlqUrl,
    daxEndpoint,
    cacheMaxEntries: integer(env, ENV.cacheMaxEntries, LIMITS.cacheMaxEntries),
    cacheMaxBytes: integer(env, ENV.cacheMaxBytes, LIMITS.cacheMaxBytes),
    cacheTtlSeconds: integer(env, ENV.cacheTtlSeconds, LIMITS.cacheTtlSeconds),
    maxRecordBytes: integer(env, ENV.maxRecordBytes, LIMITS.maxRecordBytes),
  };
}
