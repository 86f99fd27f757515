/**
 * A local Amazon Data Firehose delivery for a delivery stream whose source is a Kinesis data
 * stream, configured from the stream's `DeliveryStreamDescription` (DescribeDeliveryStream) and
 * delivering, as Firehose documents it, to
 *
 *   - an ExtendedS3 destination: buffering hints, GZIP, Firehose's object names, custom prefixes
 *     (`!{timestamp:…}`, `!{firehose:…}`), dynamic partitioning with a MetadataExtraction JQ query
 *     (the subset the firehose-s3 component uses), AppendDelimiterToRecord, failed records to the
 *     error output prefix;
 *   - an Amazon OpenSearch Service destination (the HTTP endpoint given replaces the domain's):
 *     `_bulk` index actions, index rotation, document id options, retries for the retry duration,
 *     then FailedDocumentsOnly backup to S3 in Firehose's failed-document shape.
 *
 * local-aws/README.md lists what is and is not implemented and the sources; every behaviour is
 * pinned by local-aws/test/firehose-delivery.test.ts. Nothing here is AWS code.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type {
  AmazonopensearchserviceDestinationDescription,
  DeliveryStreamDescription,
  ExtendedS3DestinationDescription,
  ProcessingConfiguration,
  S3DestinationDescription,
} from '@aws-sdk/client-firehose';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type ShardIteratorType,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

const MiB = 1024 * 1024;

/** What the delivery reports as it goes (for progress output and tests). */
export type FirehoseEvent =
  | { type: 's3-object'; bucket: string; key: string; records: number; bytes: number; error: boolean }
  | { type: 'bulk'; attempt: number; documents: number; failed: number; status: number | 'network-error' }
  | { type: 'backup'; bucket: string; key: string; documents: number }
  | { type: 'read-error'; shardId: string; error: string }
  | { type: 'delivery-error'; error: string };

export interface FirehoseDeliveryOptions {
  /** `DeliveryStreamDescription` as DescribeDeliveryStream returns it. */
  readonly description: DeliveryStreamDescription;
  /** Client of the source stream's emulator. */
  readonly kinesis: KinesisClient;
  /** Client of the destination / backup buckets' emulator. */
  readonly s3: S3Client;
  /** Replaces the OpenSearch domain's endpoint (e.g. http://127.0.0.1:9200); required for that destination. */
  readonly opensearchEndpoint?: string;
  /** Clock (ms) for buffer ages, retry durations and attempt timestamps; default Date.now. */
  readonly clock?: () => number;
  readonly onEvent?: (event: FirehoseEvent) => void;
  /**
   * Where reading starts. Default: AT_TIMESTAMP of the source's DeliveryStartTimestamp when the
   * description has one, else LATEST at init() (Firehose reads "from the LATEST position").
   * TRIM_HORIZON is a local extension (replaying what is already in the stream).
   */
  readonly startingPosition?: 'LATEST' | 'TRIM_HORIZON';
  /** Pause between GetRecords calls of one shard, ms; default 1000 ("once per second for each shard"). */
  readonly pollIntervalMs?: number;
  /** Backoff between OpenSearch retries: initial, doubled per attempt up to max (ms); default 1000 / 16000. */
  readonly retryBackoffMs?: { readonly initial: number; readonly max: number };
}

export interface FirehoseStats {
  /** Records read from the source stream. */
  recordsIn: number;
  /** Records written into destination objects (S3) or indexed (OpenSearch, counted once each). */
  recordsDelivered: number;
  /** S3 destination: objects written under Prefix, and under ErrorOutputPrefix. */
  s3Objects: number;
  errorObjects: number;
  /** S3 destination: records that failed processing (dynamic partitioning), written to the error prefix. */
  processingFailures: number;
  /** OpenSearch: bulk requests sent (first attempts + retries), and of those the retries. */
  bulkRequests: number;
  retriedRequests: number;
  /** OpenSearch: documents sent again in a retry (a document retried twice counts twice). */
  documentsRetried: number;
  /** OpenSearch: documents written to the backup bucket, and the backup objects. */
  documentsToBackup: number;
  backupObjects: number;
  /** GetRecords / GetShardIterator errors (retried at the next poll). */
  readErrors: number;
  /** OpenSearch: wall time spent in _bulk requests, ms (for throughput figures). */
  bulkMillis: number;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One record as read from the source, with Firehose's arrival time. */
interface SourceRecord {
  readonly data: Buffer;
  readonly arrival: number;
  readonly sequenceNumber: string;
}

interface Shard {
  readonly shardId: string;
  iterator: string | undefined;
  lastSeq?: string;
  done: boolean;
  lock: Promise<void>;
}

/** A buffer of encoded records for one destination prefix / partition. */
interface Buffer_ {
  readonly id: string;
  readonly createdAt: number;
  readonly items: BufferedItem[];
  bytes: number;
}

interface BufferedItem {
  readonly record: SourceRecord;
  /** Bytes to write (S3: record + delimiter, or a failure document; OpenSearch: the document). */
  readonly payload: Buffer;
  /** S3: partition keys (dynamic partitioning). */
  readonly keys?: Record<string, string>;
  /** S3: the record failed processing; payload is the failure document. */
  readonly errorType?: string;
}

const notImplemented = (what: string) => new Error(`firehose-delivery: not implemented: ${what}`);

// ---------------------------------------------------------------------------------------------
// Prefix expressions (s3-prefixes): !{timestamp:<DateTimeFormatter>}, !{firehose:error-output-type},
// !{firehose:random-string}, !{partitionKeyFromQuery:<key>}.

type PrefixPart =
  | { lit: string }
  | { ns: 'timestamp'; fmt: string; src: string }
  | { ns: 'firehose'; value: 'error-output-type' | 'random-string' }
  | { ns: 'partitionKeyFromQuery'; key: string };

export function parsePrefix(prefix: string, field: string): PrefixPart[] {
  const parts: PrefixPart[] = [];
  let i = 0;
  while (i < prefix.length) {
    const at = prefix.indexOf('!{', i);
    if (at < 0) {
      parts.push({ lit: prefix.slice(i) });
      break;
    }
    if (at > i) parts.push({ lit: prefix.slice(i, at) });
    const end = prefix.indexOf('}', at);
    if (end < 0) throw new Error(`${field}: "!{" without a closing "}" in "${prefix}"`);
    const expr = prefix.slice(at + 2, end);
    const colon = expr.indexOf(':');
    const ns = colon < 0 ? expr : expr.slice(0, colon);
    const value = colon < 0 ? '' : expr.slice(colon + 1);
    if (ns === 'timestamp') {
      compileDateFormat(value, `${field} !{${expr}}`); // validate now
      parts.push({ ns, fmt: value, src: expr });
    } else if (ns === 'firehose' && (value === 'error-output-type' || value === 'random-string')) {
      parts.push({ ns, value });
    } else if (ns === 'partitionKeyFromQuery' && /^[A-Za-z0-9_-]+$/.test(value)) {
      parts.push({ ns, key: value });
    } else if (ns === 'partitionKeyFromLambda') {
      throw notImplemented(`${field} expression !{${expr}} (partition keys from a Lambda processor)`);
    } else {
      throw new Error(
        `${field}: unknown expression !{${expr}}; allowed: !{timestamp:<format>}, !{firehose:error-output-type}, !{firehose:random-string}, !{partitionKeyFromQuery:<key>}`,
      );
    }
    i = end + 1;
  }
  return parts;
}

/** Java DateTimeFormatter, the subset prefixes use: yyyy yy MM dd HH mm ss, 'quoted' text, other characters literal. */
function compileDateFormat(fmt: string, where: string): (d: Date) => string {
  const out: Array<(d: Date) => string> = [];
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  let i = 0;
  while (i < fmt.length) {
    const c = fmt[i]!;
    if (c === "'") {
      const end = fmt.indexOf("'", i + 1);
      if (end < 0) throw new Error(`${where}: unterminated quote in "${fmt}"`);
      const lit = end === i + 1 ? "'" : fmt.slice(i + 1, end);
      out.push(() => lit);
      i = end + 1;
      continue;
    }
    if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (fmt[j] === c) j++;
      const run = fmt.slice(i, j);
      const f: Record<string, (d: Date) => string> = {
        yyyy: (d) => pad(d.getUTCFullYear(), 4),
        yy: (d) => pad(d.getUTCFullYear() % 100),
        MM: (d) => pad(d.getUTCMonth() + 1),
        dd: (d) => pad(d.getUTCDate()),
        HH: (d) => pad(d.getUTCHours()),
        mm: (d) => pad(d.getUTCMinutes()),
        ss: (d) => pad(d.getUTCSeconds()),
      };
      const fn = f[run];
      if (!fn)
        throw notImplemented(
          `${where}: date pattern "${run}" (implemented: ${Object.keys(f).join(', ')}, 'quoted text')`,
        );
      out.push(fn);
      i = j;
      continue;
    }
    out.push(() => c);
    i++;
  }
  return (d) => out.map((f) => f(d)).join('');
}

const RANDOM_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
function randomString(n: number): string {
  const b = randomBytes(n);
  return Array.from(b, (x) => RANDOM_ALPHABET[x % RANDOM_ALPHABET.length]).join('');
}

function evaluatePrefix(
  parts: PrefixPart[],
  ctx: { time: number; keys?: Record<string, string>; errorType?: string },
): string {
  const date = new Date(ctx.time);
  return parts
    .map((p) => {
      if ('lit' in p) return p.lit;
      if (p.ns === 'timestamp') return compileDateFormat(p.fmt, p.src)(date);
      if (p.ns === 'firehose') {
        if (p.value === 'random-string') return randomString(11);
        if (ctx.errorType === undefined) throw new Error('!{firehose:error-output-type} outside the ErrorOutputPrefix');
        return ctx.errorType;
      }
      const v = ctx.keys?.[p.key];
      if (v === undefined) throw new Error(`partition key "${p.key}" not extracted`);
      return v;
    })
    .join('');
}

// ---------------------------------------------------------------------------------------------
// JQ: exactly the shape the firehose-s3 component's MetadataExtractionQuery uses:
//   {key: .a.b[m:n], …}   (object construction of paths with optional string/array slices)

type JqPath = Array<{ field: string } | { slice: [number | null, number | null] }>;
export interface JqQuery {
  readonly source: string;
  readonly keys: ReadonlyArray<{ key: string; path: JqPath }>;
}

export function parseJqQuery(source: string): JqQuery {
  const s = source.trim();
  const fail = (why: string): never => {
    throw notImplemented(`JQ expression "${source}" (${why}; implemented: {key: .field.field[m:n], …})`);
  };
  if (!s.startsWith('{') || !s.endsWith('}')) fail('not an object construction');
  const body = s.slice(1, -1).trim();
  const keys: Array<{ key: string; path: JqPath }> = [];
  for (const entry of body.split(',')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(\S(?:.*\S)?)\s*$/.exec(entry);
    if (!m) fail(`entry "${entry.trim()}"`);
    const [, key, expr] = m!;
    const path: JqPath = [];
    const re = /\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*(-?\d+)?\s*:\s*(-?\d+)?\s*\]/y;
    let pos = 0;
    while (pos < expr!.length) {
      re.lastIndex = pos;
      const t = re.exec(expr!);
      if (!t) fail(`path "${expr}"`);
      if (t![1] !== undefined) path.push({ field: t![1] });
      else
        path.push({ slice: [t![2] === undefined ? null : Number(t![2]), t![3] === undefined ? null : Number(t![3])] });
      pos = re.lastIndex;
    }
    if (path.length === 0 || !('field' in path[0]!)) fail(`path "${expr}" must start with .field`);
    keys.push({ key: key!, path });
  }
  return { source, keys };
}

const jqType = (v: Json): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** jq 1.6 semantics for these paths: missing field / null input → null; wrong type → error. */
export function evaluateJq(q: JqQuery, input: Json): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const { key, path } of q.keys) {
    let v: Json = input;
    for (const step of path) {
      if ('field' in step) {
        if (v === null) continue;
        if (typeof v !== 'object' || Array.isArray(v))
          throw new Error(`Cannot index ${jqType(v)} with "${step.field}"`);
        v = Object.hasOwn(v, step.field) ? v[step.field]! : null;
      } else {
        if (v === null) continue;
        if (typeof v !== 'string' && !Array.isArray(v)) throw new Error(`Cannot index ${jqType(v)} with object`);
        const items = typeof v === 'string' ? Array.from(v) : v; // jq slices strings by code point
        const len = items.length;
        const norm = (n: number | null, dflt: number) =>
          n === null ? dflt : n < 0 ? Math.max(0, len + n) : Math.min(n, len);
        const from = norm(step.slice[0], 0);
        const to = Math.max(from, norm(step.slice[1], len));
        v = typeof v === 'string' ? items.slice(from, to).join('') : (items as Json[]).slice(from, to);
      }
    }
    out[key] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function bucketName(arn: string | undefined, field: string): string {
  const m = /^arn:aws[a-z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/.exec(arn ?? '');
  if (!m) throw new Error(`${field}: expected arn:aws:s3:::<bucket>, got ${JSON.stringify(arn)}`);
  return m[1]!;
}

/** Processor parameter values: Firehose takes the delimiter with backslash escapes ("\\n" = newline). */
function unescapeDelimiter(v: string): string {
  return v.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c);
}

interface Processors {
  readonly jq?: JqQuery;
  readonly delimiter?: string;
}

function readProcessors(
  cfg: ProcessingConfiguration | undefined,
  dynamicPartitioning: boolean,
  field: string,
): Processors {
  if (!cfg?.Enabled) return {};
  let jq: JqQuery | undefined;
  let delimiter: string | undefined;
  for (const p of cfg.Processors ?? []) {
    const params = Object.fromEntries((p.Parameters ?? []).map((x) => [x.ParameterName, x.ParameterValue ?? '']));
    if (p.Type === 'MetadataExtraction') {
      if (!dynamicPartitioning)
        throw new Error(`${field}: MetadataExtraction needs DynamicPartitioningConfiguration.Enabled`);
      const engine = params.JsonParsingEngine;
      if (engine !== undefined && engine !== 'JQ-1.6')
        throw notImplemented(`${field}: JsonParsingEngine "${engine}" (implemented: JQ-1.6)`);
      const query = params.MetadataExtractionQuery;
      if (!query) throw new Error(`${field}: MetadataExtraction without a MetadataExtractionQuery parameter`);
      jq = parseJqQuery(query);
    } else if (p.Type === 'AppendDelimiterToRecord') {
      delimiter = unescapeDelimiter(params.Delimiter ?? '\\n');
    } else {
      throw notImplemented(
        `${field}: processor type ${p.Type} (implemented: MetadataExtraction, AppendDelimiterToRecord)`,
      );
    }
  }
  return { jq, delimiter };
}

function compress(format: string | undefined, body: Buffer, field: string): { body: Buffer; extension: string } {
  if (format === undefined || format === 'UNCOMPRESSED') return { body, extension: '' };
  if (format === 'GZIP') return { body: gzipSync(body), extension: '.gz' };
  throw notImplemented(`${field} CompressionFormat ${format} (implemented: UNCOMPRESSED, GZIP)`);
}

function bufferingHints(
  h: { SizeInMBs?: number; IntervalInSeconds?: number } | undefined,
  dflt: { size: number; interval: number },
) {
  return { sizeBytes: (h?.SizeInMBs ?? dflt.size) * MiB, intervalMs: (h?.IntervalInSeconds ?? dflt.interval) * 1000 };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const errText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** Index suffixes of the rotation periods (UTC arrival time). */
function rotatedIndex(name: string, period: string | undefined, arrival: number): string {
  const d = new Date(arrival);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const day = `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`;
  switch (period ?? 'OneDay') {
    case 'NoRotation':
      return name;
    case 'OneHour':
      return `${name}-${day}-${p2(d.getUTCHours())}`;
    case 'OneDay':
      return `${name}-${day}`;
    case 'OneMonth':
      return `${name}-${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}`;
    default:
      throw notImplemented(`IndexRotationPeriod ${period} (implemented: NoRotation, OneHour, OneDay, OneMonth)`);
  }
}

interface S3Plan {
  readonly kind: 's3';
  readonly desc: ExtendedS3DestinationDescription;
  readonly bucket: string;
  readonly prefix: PrefixPart[];
  readonly errorPrefix: PrefixPart[];
  readonly processors: Processors;
  readonly sizeBytes: number;
  readonly intervalMs: number;
}

interface OpenSearchPlan {
  readonly kind: 'opensearch';
  readonly desc: AmazonopensearchserviceDestinationDescription;
  readonly endpoint: string;
  readonly sizeBytes: number;
  readonly intervalMs: number;
  readonly retryMs: number;
  readonly documentId: 'NO_DOCUMENT_ID' | 'FIREHOSE_DEFAULT';
  readonly backup: { bucket: string; desc: S3DestinationDescription; prefix: PrefixPart[] };
}

/** The evaluated default: `<Prefix>` + `!{timestamp:yyyy/MM/dd/HH/}` when it has no timestamp (or partition) expression. */
function withDefaultTime(prefix: string | undefined, field: string): PrefixPart[] {
  const parts = parsePrefix(prefix ?? '', field);
  const timed = parts.some((p) => 'ns' in p && (p.ns === 'timestamp' || p.ns === 'partitionKeyFromQuery'));
  return timed ? parts : [...parts, { ns: 'timestamp', fmt: 'yyyy/MM/dd/HH/', src: 'timestamp:yyyy/MM/dd/HH/' }];
}

/** ErrorOutputPrefix, or (when null) `<Prefix><error-output-type>/yyyy/MM/dd/HH/` (s3-prefixes semantic rules). */
function errorPrefixOf(prefix: string | undefined, errorOutputPrefix: string | undefined, field: string): PrefixPart[] {
  if (errorOutputPrefix) {
    const parts = parsePrefix(errorOutputPrefix, `${field}.ErrorOutputPrefix`);
    if (!parts.some((p) => 'ns' in p && p.ns === 'firehose' && p.value === 'error-output-type')) {
      throw new Error(`${field}.ErrorOutputPrefix must contain !{firehose:error-output-type}`);
    }
    return parts; // the default time is appended to Prefix only (semantic rules)
  }
  const base = parsePrefix(prefix ?? '', `${field}.Prefix`);
  if (base.some((p) => 'ns' in p))
    throw new Error(`${field}: ErrorOutputPrefix can be null only if Prefix contains no expressions`);
  const lit = (prefix ?? '') === '' || (prefix ?? '').endsWith('/') ? (prefix ?? '') : `${prefix}/`;
  return [
    { lit },
    { ns: 'firehose', value: 'error-output-type' },
    { lit: '/' },
    { ns: 'timestamp', fmt: 'yyyy/MM/dd/HH/', src: 'timestamp:yyyy/MM/dd/HH/' },
  ];
}

/** error-output-type of OpenSearch document failures (the folder FailedDocumentsOnly names). */
export const OPENSEARCH_ERROR_OUTPUT_TYPE = 'AmazonOpenSearchService-failed';
/** error-output-type of records whose partition keys could not be extracted. */
export const PARTITIONING_ERROR_OUTPUT_TYPE = 'partitioning-failed';

export class FirehoseDelivery {
  readonly stats: FirehoseStats = {
    recordsIn: 0,
    recordsDelivered: 0,
    s3Objects: 0,
    errorObjects: 0,
    processingFailures: 0,
    bulkRequests: 0,
    retriedRequests: 0,
    documentsRetried: 0,
    documentsToBackup: 0,
    backupObjects: 0,
    readErrors: 0,
    bulkMillis: 0,
  };
  private readonly opts: FirehoseDeliveryOptions;
  private readonly clock: () => number;
  private readonly name: string;
  private readonly version: string;
  private readonly streamArn: string;
  /** By name, not ARN: both emulators (moto, kinesis-mock) take StreamName on every call. */
  private readonly streamName: string;
  private readonly plan: S3Plan | OpenSearchPlan;
  private readonly buffers = new Map<string, Buffer_>();
  private shards: Shard[] = [];
  private queue: Promise<void> = Promise.resolve();
  private queueError: unknown;
  private running = false;
  private loops: Promise<void>[] = [];
  private initialized = false;

  constructor(opts: FirehoseDeliveryOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? Date.now;
    const d = opts.description;
    this.name = d.DeliveryStreamName ?? '';
    if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(this.name))
      throw new Error(
        `description.DeliveryStreamName: expected 1-64 of [a-zA-Z0-9_.-], got ${JSON.stringify(d.DeliveryStreamName)}`,
      );
    this.version = d.VersionId ?? '1';
    if (d.DeliveryStreamType !== undefined && d.DeliveryStreamType !== 'KinesisStreamAsSource') {
      throw notImplemented(`DeliveryStreamType ${d.DeliveryStreamType} (implemented: KinesisStreamAsSource)`);
    }
    const src = d.Source?.KinesisStreamSourceDescription;
    if (!src?.KinesisStreamARN)
      throw new Error(
        'description.Source.KinesisStreamSourceDescription.KinesisStreamARN is required (a Kinesis stream as source)',
      );
    this.streamArn = src.KinesisStreamARN;
    const m = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/([A-Za-z0-9_.-]{1,128})$/.exec(this.streamArn);
    if (!m)
      throw new Error(
        `description.Source.KinesisStreamSourceDescription.KinesisStreamARN: expected arn:aws:kinesis:<region>:<account>:stream/<name>, got ${this.streamArn}`,
      );
    this.streamName = m[1]!;
    const dests = d.Destinations ?? [];
    if (dests.length !== 1)
      throw new Error(`description.Destinations: expected exactly 1 destination, got ${dests.length}`);
    const dest = dests[0]!;
    if (opts.pollIntervalMs !== undefined && !(opts.pollIntervalMs >= 0))
      throw new Error(`pollIntervalMs must be >= 0, got ${opts.pollIntervalMs}`);
    if (dest.AmazonopensearchserviceDestinationDescription) {
      this.plan = this.openSearchPlan(dest.AmazonopensearchserviceDestinationDescription);
    } else if (dest.ExtendedS3DestinationDescription) {
      this.plan = this.s3Plan(dest.ExtendedS3DestinationDescription);
    } else {
      throw notImplemented(
        `destination ${Object.keys(dest)
          .filter((k) => k !== 'DestinationId')
          .join(', ')} (implemented: ExtendedS3DestinationDescription, AmazonopensearchserviceDestinationDescription)`,
      );
    }
  }

  private s3Plan(desc: ExtendedS3DestinationDescription): S3Plan {
    const field = 'ExtendedS3DestinationDescription';
    if (desc.CustomTimeZone && desc.CustomTimeZone !== 'UTC')
      throw notImplemented(`${field}.CustomTimeZone ${desc.CustomTimeZone} (implemented: UTC)`);
    if (desc.DataFormatConversionConfiguration?.Enabled)
      throw notImplemented(`${field}.DataFormatConversionConfiguration`);
    if (desc.S3BackupMode && desc.S3BackupMode !== 'Disabled')
      throw notImplemented(`${field}.S3BackupMode ${desc.S3BackupMode} (implemented: Disabled)`);
    const dynamic = desc.DynamicPartitioningConfiguration?.Enabled === true;
    const processors = readProcessors(desc.ProcessingConfiguration, dynamic, `${field}.ProcessingConfiguration`);
    const prefix = withDefaultTime(desc.Prefix, `${field}.Prefix`);
    if (prefix.some((p) => 'ns' in p && p.ns === 'firehose' && p.value === 'error-output-type'))
      throw new Error(`${field}.Prefix can't contain !{firehose:error-output-type}`);
    const usesKeys = prefix.some((p) => 'ns' in p && p.ns === 'partitionKeyFromQuery');
    if (usesKeys && !processors.jq)
      throw new Error(
        `${field}.Prefix uses !{partitionKeyFromQuery:…} but no enabled MetadataExtraction processor extracts keys`,
      );
    if (dynamic && !desc.ErrorOutputPrefix)
      throw new Error(`${field}.ErrorOutputPrefix is required with dynamic partitioning`);
    if (processors.jq) {
      for (const p of prefix) {
        if ('ns' in p && p.ns === 'partitionKeyFromQuery' && !processors.jq.keys.some((k) => k.key === p.key)) {
          throw new Error(
            `${field}.Prefix: !{partitionKeyFromQuery:${p.key}} is not a key of the MetadataExtractionQuery ${processors.jq.source}`,
          );
        }
      }
    }
    const hints = bufferingHints(desc.BufferingHints, { size: 5, interval: 300 });
    return {
      kind: 's3',
      desc,
      bucket: bucketName(desc.BucketARN, `${field}.BucketARN`),
      prefix,
      errorPrefix: errorPrefixOf(desc.Prefix, desc.ErrorOutputPrefix, field),
      processors,
      ...hints,
    };
  }

  private openSearchPlan(desc: AmazonopensearchserviceDestinationDescription): OpenSearchPlan {
    const field = 'AmazonopensearchserviceDestinationDescription';
    const endpoint = this.opts.opensearchEndpoint;
    if (!endpoint || !/^https?:\/\/[^/]+$/.test(endpoint.replace(/\/$/, ''))) {
      throw new Error(
        `opensearchEndpoint: an http(s)://host:port URL is required for an OpenSearch destination, got ${JSON.stringify(endpoint)}`,
      );
    }
    if (!desc.IndexName) throw new Error(`${field}.IndexName is required`);
    if (desc.ProcessingConfiguration?.Enabled)
      throw notImplemented(`${field}.ProcessingConfiguration (record transformation)`);
    const mode = desc.S3BackupMode ?? 'FailedDocumentsOnly';
    if (mode !== 'FailedDocumentsOnly')
      throw notImplemented(`${field}.S3BackupMode ${mode} (implemented: FailedDocumentsOnly)`);
    const idFormat = desc.DocumentIdOptions?.DefaultDocumentIdFormat ?? 'FIREHOSE_DEFAULT';
    if (idFormat !== 'NO_DOCUMENT_ID' && idFormat !== 'FIREHOSE_DEFAULT')
      throw new Error(
        `${field}.DocumentIdOptions.DefaultDocumentIdFormat: one of NO_DOCUMENT_ID, FIREHOSE_DEFAULT, got ${idFormat}`,
      );
    rotatedIndex(desc.IndexName, desc.IndexRotationPeriod, 0); // validates the period
    const s3 = desc.S3DestinationDescription;
    if (!s3) throw new Error(`${field}.S3DestinationDescription is required (the backup bucket)`);
    const retrySeconds = desc.RetryOptions?.DurationInSeconds ?? 300;
    if (!(retrySeconds >= 0 && retrySeconds <= 7200))
      throw new Error(`${field}.RetryOptions.DurationInSeconds: 0-7200, got ${retrySeconds}`);
    compress(s3.CompressionFormat, Buffer.alloc(0), `${field}.S3DestinationDescription`);
    return {
      kind: 'opensearch',
      desc,
      endpoint: endpoint.replace(/\/$/, ''),
      ...bufferingHints(desc.BufferingHints, { size: 5, interval: 300 }),
      retryMs: retrySeconds * 1000,
      documentId: idFormat,
      backup: {
        bucket: bucketName(s3.BucketARN, `${field}.S3DestinationDescription.BucketARN`),
        desc: s3,
        prefix: errorPrefixOf(s3.Prefix, s3.ErrorOutputPrefix, `${field}.S3DestinationDescription`),
      },
    };
  }

  /** Lists the shards and takes a shard iterator for each (the starting position is fixed here). */
  async init(): Promise<void> {
    if (this.initialized) return;
    const shardIds: string[] = [];
    let next: string | undefined;
    do {
      const res = await this.opts.kinesis.send(
        new ListShardsCommand(next ? { NextToken: next } : { StreamName: this.streamName }),
      );
      for (const s of res.Shards ?? []) {
        // Open shards only: Firehose reads a closed parent before its children; resharding is not implemented.
        if (s.SequenceNumberRange?.EndingSequenceNumber === undefined) shardIds.push(s.ShardId!);
      }
      next = res.NextToken;
    } while (next);
    const start = this.opts.description.Source?.KinesisStreamSourceDescription?.DeliveryStartTimestamp;
    const type: ShardIteratorType = this.opts.startingPosition ?? (start ? 'AT_TIMESTAMP' : 'LATEST');
    this.shards = await Promise.all(
      shardIds.map(async (shardId) => {
        const it = await this.opts.kinesis.send(
          new GetShardIteratorCommand({
            StreamName: this.streamName,
            ShardId: shardId,
            ShardIteratorType: type,
            ...(type === 'AT_TIMESTAMP' ? { Timestamp: start } : {}),
          }),
        );
        return { shardId, iterator: it.ShardIterator, done: false, lock: Promise.resolve() };
      }),
    );
    this.initialized = true;
  }

  /** Polls every shard once per pollIntervalMs and delivers buffers when a hint is reached. */
  start(): void {
    if (!this.initialized) throw new Error('FirehoseDelivery.start(): call await init() first');
    if (this.running) return;
    this.running = true;
    const pace = this.opts.pollIntervalMs ?? 1000;
    for (const shard of this.shards) {
      this.loops.push(
        (async () => {
          while (this.running && !shard.done) {
            await this.readShard(shard);
            await sleep(pace);
          }
        })(),
      );
    }
    this.loops.push(
      (async () => {
        while (this.running) {
          this.deliverDue(false);
          await sleep(Math.min(200, Math.max(10, this.plan.intervalMs / 10)));
        }
      })(),
    );
  }

  /**
   * End of run: reads every record currently in the source stream (no pacing) and delivers every
   * buffer now, whatever the buffering hints; resolves when everything, retries and backups
   * included, is written.
   */
  async flush(): Promise<void> {
    if (!this.initialized) await this.init();
    for (const shard of this.shards) {
      for (let errors = 0; !shard.done; ) {
        const r = await this.readShard(shard);
        if (r.records === 0 && !r.behind) break; // caught up
        if (r.records === 0) {
          // behind but nothing returned (or a read error): try again shortly, give up after 30 tries
          if (++errors > 30) throw new Error(`flush: shard ${shard.shardId} could not be read to its end`);
          await sleep(200);
        }
      }
    }
    this.deliverDue(true);
    await this.idle();
  }

  /** Stops polling and waits for deliveries in progress; buffered records not yet due stay undelivered (call flush() first). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
    await this.idle();
  }

  /** Records buffered, not yet delivered. */
  get buffered(): number {
    let n = 0;
    for (const b of this.buffers.values()) n += b.items.length;
    return n;
  }

  private async idle(): Promise<void> {
    let q: Promise<void>;
    do {
      q = this.queue;
      await q;
    } while (q !== this.queue);
    if (this.queueError !== undefined) {
      const e = this.queueError;
      this.queueError = undefined;
      throw e;
    }
  }

  /** One GetRecords for the shard (serialized per shard); returns the records read and whether the shard is behind. */
  private readShard(shard: Shard): Promise<{ records: number; behind: boolean }> {
    const run = shard.lock.then(async () => {
      if (shard.done) return { records: 0, behind: false };
      try {
        if (!shard.iterator) {
          const it = await this.opts.kinesis.send(
            new GetShardIteratorCommand({
              StreamName: this.streamName,
              ShardId: shard.shardId,
              ...(shard.lastSeq
                ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: shard.lastSeq }
                : { ShardIteratorType: 'TRIM_HORIZON' }),
            }),
          );
          shard.iterator = it.ShardIterator;
        }
        const res = await this.opts.kinesis.send(
          new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: 10000 }),
        );
        shard.iterator = res.NextShardIterator;
        if (!res.NextShardIterator) shard.done = true; // closed shard fully read
        const records = res.Records ?? [];
        for (const r of records) this.accept(r);
        if (records.length) shard.lastSeq = records[records.length - 1]!.SequenceNumber;
        if (this.plan.intervalMs === 0 && records.length) this.deliverDue(true);
        return { records: records.length, behind: (res.MillisBehindLatest ?? 0) > 0 };
      } catch (e) {
        this.stats.readErrors++;
        if ((e as { name?: string }).name === 'ExpiredIteratorException') shard.iterator = undefined;
        this.opts.onEvent?.({ type: 'read-error', shardId: shard.shardId, error: errText(e) });
        return { records: 0, behind: true };
      }
    });
    shard.lock = run.then(() => undefined);
    return run;
  }

  /** Processes one source record into its buffer (and delivers a buffer the record fills). */
  private accept(r: _Record): void {
    this.stats.recordsIn++;
    const record: SourceRecord = {
      data: Buffer.from(r.Data ?? new Uint8Array()),
      arrival: (r.ApproximateArrivalTimestamp ?? new Date(this.clock())).getTime(),
      sequenceNumber: r.SequenceNumber ?? '',
    };
    let item: BufferedItem;
    let bufferId: string;
    if (this.plan.kind === 's3') {
      const { jq, delimiter } = this.plan.processors;
      let keys: Record<string, string> | undefined;
      let failure: string | undefined;
      if (jq) {
        try {
          keys = this.extractKeys(jq, record.data);
        } catch (e) {
          failure = e instanceof Error ? e.message : String(e);
        }
      }
      if (failure !== undefined) {
        this.stats.processingFailures++;
        const doc = {
          attemptsMade: 1,
          arrivalTimestamp: record.arrival,
          errorCode: 'DynamicPartitioning.MetadataExtractionFailed',
          errorMessage: failure,
          attemptEndingTimestamp: this.clock(),
          rawData: record.data.toString('base64'),
        };
        item = { record, payload: Buffer.from(`${JSON.stringify(doc)}\n`), errorType: PARTITIONING_ERROR_OUTPUT_TYPE };
        bufferId = `error:${PARTITIONING_ERROR_OUTPUT_TYPE}`;
      } else {
        const payload = delimiter === undefined ? record.data : Buffer.concat([record.data, Buffer.from(delimiter)]);
        item = { record, payload, keys };
        bufferId = keys
          ? `keys:${JSON.stringify(this.plan.prefix.filter((p) => 'ns' in p && p.ns === 'partitionKeyFromQuery').map((p) => keys![(p as { key: string }).key]))}`
          : 'main';
      }
    } else {
      item = { record, payload: record.data };
      bufferId = 'main';
    }
    let buf = this.buffers.get(bufferId);
    if (buf && buf.bytes + item.payload.length > this.plan.sizeBytes) {
      this.enqueue(buf);
      buf = undefined;
    }
    if (!buf) {
      buf = { id: bufferId, createdAt: this.clock(), items: [], bytes: 0 };
      this.buffers.set(bufferId, buf);
    }
    buf.items.push(item);
    buf.bytes += item.payload.length;
    if (buf.bytes >= this.plan.sizeBytes) this.enqueue(buf);
  }

  private extractKeys(jq: JqQuery, data: Buffer): Record<string, string> {
    let input: Json;
    try {
      input = JSON.parse(data.toString('utf8')) as Json;
    } catch (e) {
      throw new Error(`Non JSON record provided: ${(e as Error).message}`);
    }
    const values = evaluateJq(jq, input);
    const keys: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) {
      if (typeof v === 'number') keys[k] = String(v);
      else if (typeof v === 'string' && v !== '') keys[k] = v;
      else
        throw new Error(
          `partition key "${k}" evaluated to ${v === '' ? 'an empty string' : jqType(v)} (query ${jq.source})`,
        );
    }
    return keys;
  }

  private deliverDue(all: boolean): void {
    const now = this.clock();
    for (const buf of [...this.buffers.values()]) {
      if (all || now - buf.createdAt >= this.plan.intervalMs) this.enqueue(buf);
    }
  }

  /** Takes the buffer out and delivers it after the deliveries before it (one at a time, in order). */
  private enqueue(buf: Buffer_): void {
    if (this.buffers.get(buf.id) === buf) this.buffers.delete(buf.id);
    if (buf.items.length === 0) return;
    this.queue = this.queue.then(async () => {
      try {
        if (this.plan.kind === 's3') await this.deliverS3(this.plan, buf);
        else await this.deliverOpenSearch(this.plan, buf);
      } catch (e) {
        this.queueError ??= e;
        this.opts.onEvent?.({ type: 'delivery-error', error: errText(e) });
      }
    });
  }

  private objectName(time: number, extension: string): string {
    const ts = compileDateFormat('yyyy-MM-dd-HH-mm-ss', 'object name')(new Date(time));
    return `${this.name}-${this.version}-${ts}-${randomUUID()}${extension}`;
  }

  /** PutObject, retried until it succeeds (S3 delivery is retried for a Kinesis source until the records expire). */
  private async putObject(bucket: string, key: string, body: Buffer): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        return;
      } catch (e) {
        this.opts.onEvent?.({ type: 'delivery-error', error: `PutObject s3://${bucket}/${key}: ${errText(e)}` });
        if (!this.running && attempt >= 5) throw e; // nobody left to wait for: surface it
        await sleep(Math.min(1000 * 2 ** attempt, 16_000));
      }
    }
  }

  private async deliverS3(plan: S3Plan, buf: Buffer_): Promise<void> {
    const oldest = Math.min(...buf.items.map((i) => i.record.arrival));
    const first = buf.items[0]!;
    const isError = first.errorType !== undefined;
    const prefix = isError
      ? evaluatePrefix(plan.errorPrefix, { time: oldest, errorType: first.errorType })
      : evaluatePrefix(plan.prefix, { time: oldest, keys: first.keys });
    const { body, extension } = compress(
      plan.desc.CompressionFormat,
      Buffer.concat(buf.items.map((i) => i.payload)),
      'ExtendedS3DestinationDescription',
    );
    const key = prefix + this.objectName(oldest, plan.desc.FileExtension ?? extension);
    await this.putObject(plan.bucket, key, body);
    if (isError) this.stats.errorObjects++;
    else {
      this.stats.s3Objects++;
      this.stats.recordsDelivered += buf.items.length;
    }
    this.opts.onEvent?.({
      type: 's3-object',
      bucket: plan.bucket,
      key,
      records: buf.items.length,
      bytes: body.length,
      error: isError,
    });
  }

  private documentId(item: BufferedItem): string {
    // Firehose's id is internal and undocumented ("stable across delivery attempts"); this uses the
    // record's sequence number and subsequence, the shape of the dataId / EventId in failure records.
    return `${item.record.sequenceNumber}.0`;
  }

  private async deliverOpenSearch(plan: OpenSearchPlan, buf: Buffer_): Promise<void> {
    interface Doc {
      item: BufferedItem;
      index: string;
      id?: string;
      errorCode?: string;
      errorMessage?: string;
    }
    let pending: Doc[] = buf.items.map((item) => ({
      item,
      index: rotatedIndex(plan.desc.IndexName!, plan.desc.IndexRotationPeriod, item.record.arrival),
      ...(plan.documentId === 'FIREHOSE_DEFAULT' ? { id: this.documentId(item) } : {}),
    }));
    const started = this.clock();
    const backoff = this.opts.retryBackoffMs ?? { initial: 1000, max: 16_000 };
    let attempt = 0;
    for (;;) {
      attempt++;
      this.stats.bulkRequests++;
      if (attempt > 1) {
        this.stats.retriedRequests++;
        this.stats.documentsRetried += pending.length;
      }
      const body = pending
        .map(
          (d) =>
            `${JSON.stringify({ index: { _index: d.index, ...(d.id !== undefined ? { _id: d.id } : {}) } })}\n${d.item.payload.toString('utf8')}\n`,
        )
        .join('');
      let failed: Doc[] = [];
      let status: number | 'network-error';
      const sent = Date.now();
      try {
        const res = await fetch(`${plan.endpoint}/_bulk`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body,
        });
        status = res.status;
        const text = await res.text();
        if (res.ok) {
          const parsed = JSON.parse(text) as { items?: Array<Record<string, { status: number; error?: unknown }>> };
          const items = parsed.items ?? [];
          if (items.length !== pending.length)
            throw new Error(`_bulk answered ${items.length} items for ${pending.length} documents`);
          pending.forEach((d, i) => {
            const r = Object.values(items[i]!)[0]!;
            if (r.status >= 300 || r.error !== undefined)
              failed.push({ ...d, errorCode: String(r.status), errorMessage: JSON.stringify(r.error ?? null) });
            else this.stats.recordsDelivered++;
          });
        } else {
          failed = pending.map((d) => ({ ...d, errorCode: String(res.status), errorMessage: text.slice(0, 1024) }));
        }
      } catch (e) {
        status = 'network-error';
        failed = pending.map((d) => ({ ...d, errorCode: 'OS.ConnectionFailed', errorMessage: errText(e) }));
      }
      this.stats.bulkMillis += Date.now() - sent;
      this.opts.onEvent?.({ type: 'bulk', attempt, documents: pending.length, failed: failed.length, status });
      if (failed.length === 0) return;
      const elapsed = this.clock() - started;
      if (elapsed >= plan.retryMs) {
        await this.backup(plan, failed, attempt);
        return;
      }
      pending = failed;
      const wait = Math.min(backoff.initial * 2 ** (attempt - 1), backoff.max, plan.retryMs - elapsed);
      await sleep(Math.max(0, wait));
    }
  }

  private async backup(
    plan: OpenSearchPlan,
    docs: Array<{ item: BufferedItem; index: string; id?: string; errorCode?: string; errorMessage?: string }>,
    attempts: number,
  ): Promise<void> {
    const ended = this.clock();
    const lines = docs.map((d) =>
      JSON.stringify({
        attemptsMade: attempts,
        arrivalTimestamp: d.item.record.arrival,
        errorCode: d.errorCode,
        errorMessage: d.errorMessage,
        attemptEndingTimestamp: ended,
        esDocumentId: d.id ?? null,
        esIndexName: d.index,
        esTypeName: plan.desc.TypeName ?? '',
        rawData: d.item.record.data.toString('base64'),
      }),
    );
    const oldest = Math.min(...docs.map((d) => d.item.record.arrival));
    const prefix = evaluatePrefix(plan.backup.prefix, { time: oldest, errorType: OPENSEARCH_ERROR_OUTPUT_TYPE });
    const { body, extension } = compress(
      plan.backup.desc.CompressionFormat,
      Buffer.from(lines.map((l) => `${l}\n`).join('')),
      'S3DestinationDescription',
    );
    const key = prefix + this.objectName(oldest, extension);
    await this.putObject(plan.backup.bucket, key, body);
    this.stats.documentsToBackup += docs.length;
    this.stats.backupObjects++;
    this.opts.onEvent?.({ type: 'backup', bucket: plan.backup.bucket, key, documents: docs.length });
  }
}
