/**
 * replay-failures: re-processes the batches the enrichment function's Kinesis event source mapping
 * gave up on (retries exhausted, or maximum record age reached), once the outage is over.
 * Run by `atmos replay-failures -s <stack>` (atmos.yaml `commands:`).
 *
 * The mapping's on-failure destination (lambda-enrichment's `<label>-failures` queue) receives
 * only a description of each batch, in AWS's documented shape:
 *   { requestContext: { requestId, functionArn, condition, approximateInvokeCount },
 *     responseContext: { statusCode, executedVersion, functionError }, version, timestamp,
 *     KinesisBatchInfo: { shardId, startSequenceNumber, endSequenceNumber,
 *       approximateArrivalOfFirstRecord, approximateArrivalOfLastRecord, batchSize, streamArn } }
 * For each message, oldest first per shard, this command
 *   1. reads the named records from the stream (GetShardIterator AT_SEQUENCE_NUMBER, then
 *      GetRecords until past endSequenceNumber);
 *   2. sends them through the function as a Kinesis event built exactly like Lambda's:
 *      --mode invoke (default): a real lambda:Invoke (RequestResponse) of the deployed function;
 *      --mode local: the built bundle (components/lambda-enrichment/dist/enrichment.zip, from
 *        `npm run build:lambda`) loaded in this process, its exported `handler` called with the
 *        deployed function's environment (lambda:GetFunctionConfiguration), for emulators that
 *        cannot run Lambda code (moto without Docker) or a replay from an operator's machine;
 *   3. honours the response like the mapping does: batchItemFailures → invoke again from the
 *      lowest reported record (the ones before it are written), a function error → invoke the
 *      remaining records again; at most --max-attempts invocations per part, with backoff;
 *   4. deletes the message only when every one of its records was accepted (written to the
 *      output stream, or to the DLQ as malformed).
 * A message is kept (visible again at once) and reported, and the command exits 1, when its
 * records are no longer in the stream (trimmed after the retention period, or the shard is
 * gone), when they still fail after the attempts, or when it is not an on-failure record. Later
 * messages of the same shard wait behind a kept one, so a customer's events keep their order.
 * Records of overlapping messages are re-processed once per run. With parallelization_factor > 1
 * a batch's sequence range also holds records of concurrent batches: those are re-processed too
 * (duplicates that carry the same event_id).
 *
 * Usage:
 *   npx tsx scripts/replay-failures.ts --stack dev [--mode invoke|local] [options]
 *       function = <label>, queue = <label>-failures, region and component env (e.g. the local
 *       stack's emulator endpoint) from `atmos describe component lambda-enrichment -s dev`
 *   npx tsx scripts/replay-failures.ts --queue-url https://sqs.../x-failures --function-name x --region us-east-1
 * Options: --bundle <zip> (local mode), --max-messages <n> (default 1000), --max-attempts <n>
 *   (default 4), --retry-delay-ms <ms> (default 1000, doubled per attempt), --visibility-timeout
 *   <s> (default 900), --handler-logs (local mode: keep the handler's own INFO logs and EMF
 *   metrics on stdout; by default they are WARN and off, as only Lambda ships them to CloudWatch).
 * Exit status: 0 every message replayed and deleted (or none), 1 some kept, 2 bad usage/setup.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { SignatureV4 } from '@smithy/signature-v4';
import { atmosEnv } from './lib/atmos';
import { sigV4Signer } from './lib/sigv4';
import type { KinesisStreamRecord } from 'aws-lambda';
import { FAILURES_QUEUE_SUFFIX, LAMBDA_ARTIFACT } from '../components/lambda-enrichment/contract';
import { lambdaKinesisEvent } from '../local-aws/event-source-mapping';

const REPO_ROOT = join(__dirname, '..');
const COMPONENT = 'lambda-enrichment';
/** Synchronous invocation payloads are capped at 6 MB; stay below with room for the envelope. */
const MAX_EVENT_BYTES = 5_000_000;
const MAX_GET_RECORDS_CALLS = 10_000;

class UsageError extends Error {}

const log = (line: string) => process.stdout.write(`replay-failures: ${line}\n`);

// ------------------------------------------------------------------------------------ options

export interface Options {
  stack?: string;
  queueUrl?: string;
  functionName?: string;
  region?: string;
  mode: 'invoke' | 'local';
  bundle: string;
  maxMessages: number;
  maxAttempts: number;
  retryDelayMs: number;
  visibilityTimeout: number;
  handlerLogs: boolean;
}

const USAGE =
  'usage: replay-failures (--stack <stack> | --queue-url <url> --function-name <name> [--region <r>]) [--mode invoke|local] ' +
  '[--bundle <zip>] [--max-messages <n>] [--max-attempts <n>] [--retry-delay-ms <ms>] [--visibility-timeout <s>] [--handler-logs]';

function whole(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"\n${USAGE}`);
  return n;
}

export function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        stack: { type: 'string', short: 's' },
        'queue-url': { type: 'string' },
        'function-name': { type: 'string' },
        region: { type: 'string' },
        mode: { type: 'string', default: 'invoke' },
        bundle: { type: 'string' },
        'max-messages': { type: 'string' },
        'max-attempts': { type: 'string' },
        'retry-delay-ms': { type: 'string' },
        'visibility-timeout': { type: 'string' },
        'handler-logs': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.mode !== 'invoke' && values.mode !== 'local')
    throw new UsageError(`--mode must be invoke or local, got "${values.mode}"\n${USAGE}`);
  if (values.stack && (values['queue-url'] || values['function-name'])) {
    throw new UsageError(
      `--stack reads the queue and function from Atmos; do not combine it with --queue-url/--function-name\n${USAGE}`,
    );
  }
  if (!values.stack && !(values['queue-url'] && values['function-name'])) {
    throw new UsageError(`give --stack, or both --queue-url and --function-name\n${USAGE}`);
  }
  return {
    stack: values.stack,
    queueUrl: values['queue-url'],
    functionName: values['function-name'],
    region: values.region,
    mode: values.mode,
    bundle: values.bundle ?? join(REPO_ROOT, 'components', COMPONENT, LAMBDA_ARTIFACT),
    maxMessages: whole('max-messages', values['max-messages'], 1000, 1, 1_000_000),
    maxAttempts: whole('max-attempts', values['max-attempts'], 4, 1, 100),
    retryDelayMs: whole('retry-delay-ms', values['retry-delay-ms'], 1000, 0, 600_000),
    // SQS allows 0-43200 s; 0 would hand the message to another consumer while we work on it.
    visibilityTimeout: whole('visibility-timeout', values['visibility-timeout'], 900, 30, 43_200),
    handlerLogs: values['handler-logs'],
  };
}

// ------------------------------------------------------------------------------ Atmos lookup

function atmosBin(): string {
  if (process.env.ATMOS_BIN) return process.env.ATMOS_BIN;
  const pinned = join(REPO_ROOT, '.tools', 'bin', 'atmos');
  return existsSync(pinned) ? pinned : 'atmos';
}

interface StackTarget {
  functionName: string;
  queueName: string;
  region: string;
  env: Record<string, string>;
}

/**
 * The function and queue names by the pipeline's naming convention (`<label>`, `<label>-failures`,
 * the same the component builds them from), the region, and the component's `env` section (the
 * local stack points the AWS SDK at its emulator there), as Atmos resolves them for the stack.
 */
function fromStack(stack: string): StackTarget {
  const args = ['describe', 'component', COMPONENT, '-s', stack, '--format', 'json'];
  log(`reading ${COMPONENT} in stack ${stack} (atmos ${args.join(' ')})`);
  const r = spawnSync(atmosBin(), args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: atmosEnv(),
  });
  if (r.error) throw new UsageError(`atmos could not run: ${r.error.message}`);
  if (r.status !== 0)
    throw new UsageError(
      `atmos ${args.join(' ')} failed (exit ${r.status}):\n${`${r.stderr}\n${r.stdout}`.trim().slice(0, 2000)}`,
    );
  const described = JSON.parse(r.stdout) as { vars?: Record<string, unknown>; env?: Record<string, unknown> };
  const vars = described.vars ?? {};
  const parts = ['namespace', 'environment', 'stage', 'name'].map((k) => vars[k]);
  if (parts.some((p) => typeof p !== 'string' || p === '') || typeof vars.region !== 'string') {
    throw new UsageError(`stack ${stack}: ${COMPONENT} has no namespace/environment/stage/name/region vars`);
  }
  const label = parts.join('-');
  const env = Object.fromEntries(Object.entries(described.env ?? {}).map(([k, v]) => [k, String(v)]));
  return { functionName: label, queueName: `${label}-${FAILURES_QUEUE_SUFFIX}`, region: vars.region, env };
}

// ---------------------------------------------------------------------- on-failure messages

/** KinesisBatchInfo of a Lambda on-failure record (Kinesis event source). */
export interface KinesisBatchInfo {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  approximateArrivalOfFirstRecord?: string;
  approximateArrivalOfLastRecord?: string;
  batchSize: number;
  streamArn: string;
}

export interface OnFailureRecord {
  requestContext: { requestId: string; functionArn: string; condition: string; approximateInvokeCount: number };
  responseContext?: Record<string, unknown>;
  version: string;
  timestamp: string;
  KinesisBatchInfo: KinesisBatchInfo;
}

const SEQUENCE = /^\d{1,128}$/;

/** Parses and checks an on-failure message body; the error names the field that is wrong. */
export function parseOnFailure(body: string): OnFailureRecord {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new Error('not JSON');
  }
  const info = (doc as { KinesisBatchInfo?: Record<string, unknown> } | null)?.KinesisBatchInfo;
  if (!info || typeof info !== 'object')
    throw new Error('no KinesisBatchInfo (not an on-failure record of a Kinesis event source mapping)');
  for (const field of ['shardId', 'startSequenceNumber', 'endSequenceNumber', 'streamArn'] as const) {
    if (typeof info[field] !== 'string' || info[field] === '')
      throw new Error(`KinesisBatchInfo.${field} must be a non-empty string`);
  }
  for (const field of ['startSequenceNumber', 'endSequenceNumber'] as const) {
    if (!SEQUENCE.test(info[field] as string))
      throw new Error(`KinesisBatchInfo.${field} must be a Kinesis sequence number (digits)`);
  }
  if (BigInt(info.startSequenceNumber as string) > BigInt(info.endSequenceNumber as string)) {
    throw new Error('KinesisBatchInfo.startSequenceNumber is after endSequenceNumber');
  }
  if (!/^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/[A-Za-z0-9_.-]+$/.test(info.streamArn as string)) {
    throw new Error('KinesisBatchInfo.streamArn must be a Kinesis stream ARN');
  }
  if (typeof info.batchSize !== 'number' || !Number.isSafeInteger(info.batchSize) || info.batchSize < 1) {
    throw new Error('KinesisBatchInfo.batchSize must be a positive whole number');
  }
  return doc as OnFailureRecord;
}

// ------------------------------------------------------------------------ Kinesis read-back

export type ReadResult =
  | { kind: 'ok'; records: KinesisRecord[] }
  | { kind: 'trimmed'; detail: string }
  | { kind: 'incomplete'; records: KinesisRecord[]; detail: string };

const streamName = (arn: string) => arn.slice(arn.indexOf(':stream/') + ':stream/'.length);

/** The records of [start, end] of one shard, or why they cannot all be read any more. */
export async function readBatch(kinesis: KinesisClient, info: KinesisBatchInfo): Promise<ReadResult> {
  const start = BigInt(info.startSequenceNumber);
  const end = BigInt(info.endSequenceNumber);
  let iterator: string | undefined;
  try {
    const it = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName(info.streamArn),
        ShardId: info.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        StartingSequenceNumber: info.startSequenceNumber,
      }),
    );
    iterator = it.ShardIterator;
  } catch (e) {
    const name = (e as Error).name;
    if (name === 'ResourceNotFoundException' || name === 'InvalidArgumentException') {
      return {
        kind: 'trimmed',
        detail: `GetShardIterator at ${info.startSequenceNumber} on ${info.shardId}: ${name}: ${(e as Error).message}`,
      };
    }
    throw e;
  }
  const records: KinesisRecord[] = [];
  let passedEnd = false;
  for (let calls = 0; iterator && !passedEnd && calls < MAX_GET_RECORDS_CALLS; calls++) {
    const got = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
    for (const r of got.Records ?? []) {
      if (BigInt(r.SequenceNumber!) > end) {
        passedEnd = true;
        break;
      }
      records.push(r);
    }
    if (records.length > 0 && BigInt(records[records.length - 1]!.SequenceNumber!) === end) passedEnd = true;
    // Caught up with the shard's tip (or the shard is closed): nothing more will come.
    if ((got.Records ?? []).length === 0 && (got.MillisBehindLatest ?? 0) === 0) break;
    iterator = got.NextShardIterator;
  }
  const first = records[0]?.SequenceNumber;
  if (first === undefined || BigInt(first) !== start) {
    return {
      kind: 'trimmed',
      detail: `record ${info.startSequenceNumber} of ${info.shardId} is no longer in the stream (first readable: ${first ?? 'none'}); it was trimmed after the retention period`,
    };
  }
  if (!passedEnd) {
    return {
      kind: 'incomplete',
      records,
      detail: `read ${records.length} records but not up to ${info.endSequenceNumber}`,
    };
  }
  return { kind: 'ok', records };
}

// ---------------------------------------------------------------------- Kinesis Lambda event

/** One record of the Kinesis event Lambda sends (built by the local event source mapping's own builder). */
export type KinesisEventRecord = KinesisStreamRecord;

/**
 * One record as the event source mapping delivers it: the same builder as the local mapping
 * (local-aws/event-source-mapping.ts), so an event_id derived from eventID/eventSourceARN is
 * the same on a replay as on the first delivery.
 */
export function eventRecord(
  r: KinesisRecord,
  info: KinesisBatchInfo,
  roleArn: string,
  region: string,
): KinesisEventRecord {
  return lambdaKinesisEvent([r], { shardId: info.shardId, streamArn: info.streamArn, region, roleArn }).Records[0]!;
}

/** Splits records into consecutive parts whose event fits a synchronous invocation. */
export function parts(records: KinesisEventRecord[]): KinesisEventRecord[][] {
  const out: KinesisEventRecord[][] = [];
  let current: KinesisEventRecord[] = [];
  let size = 20;
  for (const r of records) {
    const bytes = Buffer.byteLength(JSON.stringify(r)) + 1;
    if (current.length > 0 && size + bytes > MAX_EVENT_BYTES) {
      out.push(current);
      current = [];
      size = 20;
    }
    current.push(r);
    size += bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

// --------------------------------------------------------------------------- the function

type InvokeResult = { kind: 'response'; failures: string[] } | { kind: 'error'; detail: string };

interface FunctionTarget {
  name: string;
  roleArn: string;
  invoke(records: KinesisEventRecord[]): Promise<InvokeResult>;
}

interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * The Lambda API (GetFunctionConfiguration, Invoke) over SigV4-signed HTTPS: two calls do not
 * justify another SDK client. AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL are honoured like the SDK.
 */
class LambdaApi {
  private readonly url: URL;
  private readonly signer: SignatureV4;

  constructor(region: string) {
    this.url = new URL(
      process.env.AWS_ENDPOINT_URL_LAMBDA ?? process.env.AWS_ENDPOINT_URL ?? `https://lambda.${region}.amazonaws.com`,
    );
    this.signer = sigV4Signer('lambda', region);
  }

  async request(method: string, path: string, body = '', headers: Record<string, string> = {}): Promise<HttpResponse> {
    const base = this.url.pathname.replace(/\/$/, '');
    const signed = await this.signer.sign({
      method,
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port ? Number(this.url.port) : undefined,
      path: `${base}${path}`,
      query: {},
      headers: {
        host: this.url.host,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        ...headers,
      },
      body,
    });
    const client = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(
        {
          method,
          hostname: this.url.hostname,
          port: this.url.port || undefined,
          path: `${base}${path}`,
          headers: signed.headers,
          timeout: 920_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('no response from Lambda')));
      req.on('error', reject);
      req.end(body);
    });
  }

  async configuration(name: string): Promise<{
    FunctionArn: string;
    Role: string;
    Timeout?: number;
    Environment?: { Variables?: Record<string, string> };
  }> {
    const res = await this.request('GET', `/2015-03-31/functions/${encodeURIComponent(name)}/configuration`);
    if (res.status !== 200)
      throw new UsageError(
        `lambda:GetFunctionConfiguration ${name} failed: HTTP ${res.status} ${res.body.slice(0, 500)}`,
      );
    return JSON.parse(res.body) as {
      FunctionArn: string;
      Role: string;
      Timeout?: number;
      Environment?: { Variables?: Record<string, string> };
    };
  }
}

/** The function's response to one Kinesis event, read the way the mapping reads it. */
function interpret(response: unknown): InvokeResult {
  if (response === null || response === undefined || typeof response !== 'object')
    return { kind: 'response', failures: [] };
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'response', failures: [] };
  if (!Array.isArray(failures)) return { kind: 'error', detail: 'batchItemFailures is not a list' };
  return {
    kind: 'response',
    failures: failures.map((f) => String((f as { itemIdentifier?: unknown })?.itemIdentifier ?? '')),
  };
}

async function invokeTarget(api: LambdaApi, name: string, roleArn: string): Promise<FunctionTarget> {
  return {
    name,
    roleArn,
    async invoke(records) {
      let res: HttpResponse;
      try {
        res = await api.request(
          'POST',
          `/2015-03-31/functions/${encodeURIComponent(name)}/invocations`,
          JSON.stringify({ Records: records }),
          {
            'x-amz-invocation-type': 'RequestResponse',
          },
        );
      } catch (e) {
        return { kind: 'error', detail: `lambda:Invoke: ${(e as Error).message}` };
      }
      if (res.status < 200 || res.status >= 300)
        return { kind: 'error', detail: `lambda:Invoke: HTTP ${res.status} ${res.body.slice(0, 300)}` };
      const functionError = res.headers['x-amz-function-error'];
      if (functionError)
        return { kind: 'error', detail: `function error (${String(functionError)}): ${res.body.slice(0, 300)}` };
      try {
        return interpret(res.body === '' ? null : JSON.parse(res.body));
      } catch {
        return { kind: 'error', detail: `the function's response is not JSON: ${res.body.slice(0, 300)}` };
      }
    },
  };
}

/** Entries of a zip file (stored or deflated), enough for the deterministic bundle. */
function unzip(zip: Buffer): { name: string; data: Buffer }[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new UsageError('the bundle is not a zip file');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out: { name: string; data: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(p + 10);
    const size = zip.readUInt32LE(p + 20);
    const nameLength = zip.readUInt16LE(p + 28);
    const skip = nameLength + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLength);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + size);
    if (method !== 0 && method !== 8)
      throw new UsageError(`the bundle entry ${name} uses an unsupported compression method (${method})`);
    if (name.includes('..') || name.startsWith('/'))
      throw new UsageError(`the bundle entry ${name} points outside its folder`);
    out.push({ name, data: method === 8 ? inflateRawSync(raw) : Buffer.from(raw) });
    p += 46 + skip;
  }
  return out;
}

type Handler = (event: { Records: KinesisEventRecord[] }, context: object) => Promise<unknown>;

/**
 * The bundle's `handler`, loaded in this process with the deployed function's environment (the
 * handler reads it at load time, as in Lambda). Credentials, region and endpoint stay this
 * process's own.
 */
function localTarget(
  bundle: string,
  name: string,
  roleArn: string,
  env: Record<string, string>,
  timeoutSeconds: number,
  handlerLogs: boolean,
): FunctionTarget & { dispose(): void } {
  if (!existsSync(bundle))
    throw new UsageError(`${bundle} does not exist: run npm run build:lambda first (or give --bundle)`);
  const dir = mkdtempSync(join(tmpdir(), 'replay-failures-'));
  for (const entry of unzip(readFileSync(bundle))) {
    mkdirSync(dirname(join(dir, entry.name)), { recursive: true });
    writeFileSync(join(dir, entry.name), entry.data);
  }
  const lambdaOwned = new Set([
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
  ]);
  for (const [k, v] of Object.entries(env)) if (!lambdaOwned.has(k)) process.env[k] = v;
  if (!handlerLogs) {
    // Only Lambda ships these to CloudWatch; here they would bury the progress lines.
    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  }
  // The bundle is CommonJS, loaded at run time from the folder it was unpacked into.
  const mod = require(join(dir, 'index.js')) as { handler?: Handler };
  if (typeof mod.handler !== 'function') throw new UsageError(`${bundle}: index.js exports no handler`);
  const handler = mod.handler;
  let invocation = 0;
  return {
    name,
    roleArn,
    async invoke(records) {
      const deadline = Date.now() + timeoutSeconds * 1000;
      const context = {
        functionName: name,
        functionVersion: '$LATEST',
        awsRequestId: `replay-${process.pid}-${++invocation}`,
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      };
      try {
        return interpret(await handler({ Records: records }, context));
      } catch (e) {
        return { kind: 'error', detail: `function error: ${(e as Error).message}` };
      }
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// ----------------------------------------------------------------------------------- replay

export type Outcome =
  | { kind: 'replayed'; records: number; invocations: number; reinvocations: number }
  | {
      kind: 'kept';
      reason: 'trimmed' | 'failing' | 'invalid' | 'blocked';
      detail: string;
      invocations: number;
      reinvocations: number;
    };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends records through the function until all are accepted, or the attempts are used up. */
async function processRecords(
  fn: FunctionTarget,
  records: KinesisEventRecord[],
  options: Pick<Options, 'maxAttempts' | 'retryDelayMs'>,
  where: string,
): Promise<{ ok: boolean; detail: string; invocations: number; reinvocations: number; accepted: string[] }> {
  let invocations = 0;
  let reinvocations = 0;
  const accepted: string[] = [];
  for (const part of parts(records)) {
    let remaining = part;
    for (let attempt = 1; ; attempt++) {
      invocations++;
      const result = await fn.invoke(remaining);
      let failedFrom = -1;
      let detail: string;
      if (result.kind === 'error') {
        failedFrom = 0;
        detail = result.detail;
      } else if (result.failures.length === 0) {
        accepted.push(...remaining.map((r) => r.kinesis.sequenceNumber));
        break;
      } else {
        // Like the mapping: resume from the lowest reported record; an identifier that is not in
        // the batch fails the whole batch.
        const index = new Map(remaining.map((r, i) => [r.kinesis.sequenceNumber, i]));
        const positions = result.failures.map((id) => index.get(id) ?? -1);
        failedFrom = positions.includes(-1) ? 0 : Math.min(...positions);
        detail = `${result.failures.length} batch item failure(s), lowest ${remaining[failedFrom]!.kinesis.sequenceNumber}`;
      }
      accepted.push(...remaining.slice(0, failedFrom).map((r) => r.kinesis.sequenceNumber));
      remaining = remaining.slice(failedFrom);
      if (attempt >= options.maxAttempts) {
        return {
          ok: false,
          detail: `${where}: ${remaining.length} record(s) still failing after ${attempt} invocation(s): ${detail}`,
          invocations,
          reinvocations,
          accepted,
        };
      }
      log(
        `  ${where}: ${detail}; invoking again with ${remaining.length} record(s) (attempt ${attempt + 1}/${options.maxAttempts})`,
      );
      reinvocations++;
      await sleep(options.retryDelayMs * 2 ** (attempt - 1));
    }
  }
  return { ok: true, detail: '', invocations, reinvocations, accepted };
}

export interface Summary {
  messages: number;
  replayed: number;
  kept: Record<'trimmed' | 'failing' | 'invalid' | 'blocked', number>;
  records: number;
  invocations: number;
  reinvocations: number;
}

async function receiveAll(sqs: SQSClient, queueUrl: string, options: Options): Promise<Message[]> {
  const messages: Message[] = [];
  const seen = new Set<string>();
  while (messages.length < options.maxMessages) {
    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, options.maxMessages - messages.length),
        WaitTimeSeconds: 1,
        VisibilityTimeout: options.visibilityTimeout,
      }),
    );
    const fresh = (got.Messages ?? []).filter((m) => !seen.has(m.MessageId!));
    if (fresh.length === 0) break;
    for (const m of fresh) {
      seen.add(m.MessageId!);
      messages.push(m);
    }
  }
  return messages;
}

export async function replay(options: Options): Promise<Summary> {
  let region = options.region;
  let functionName = options.functionName;
  let queueUrl = options.queueUrl;
  let queueName: string | undefined;
  if (options.stack) {
    const target = fromStack(options.stack);
    // As `atmos terraform` does: the component's env section applies to this process.
    Object.assign(process.env, target.env);
    region = options.region ?? target.region;
    functionName = target.functionName;
    queueName = target.queueName;
  }
  region ??= process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError(`no region: give --region or set AWS_REGION\n${USAGE}`);
  process.env.AWS_REGION ??= region;

  const requestHandler = () => new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 60_000 });
  const sqs = new SQSClient({ region, requestHandler: requestHandler() });
  const kinesis = new KinesisClient({ region, requestHandler: requestHandler() });
  if (!queueUrl) queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: queueName! }))).QueueUrl!;

  const api = new LambdaApi(region);
  const config = await api.configuration(functionName!);
  log(
    `function ${functionName} (${options.mode === 'local' ? `local bundle ${options.bundle}` : 'lambda:Invoke'}), queue ${queueUrl}`,
  );
  const fn =
    options.mode === 'local'
      ? localTarget(
          options.bundle,
          functionName!,
          config.Role,
          config.Environment?.Variables ?? {},
          config.Timeout ?? 60,
          options.handlerLogs,
        )
      : await invokeTarget(api, functionName!, config.Role);

  const summary: Summary = {
    messages: 0,
    replayed: 0,
    kept: { trimmed: 0, failing: 0, invalid: 0, blocked: 0 },
    records: 0,
    invocations: 0,
    reinvocations: 0,
  };
  const keptHandles: string[] = [];
  try {
    const messages = await receiveAll(sqs, queueUrl, options);
    summary.messages = messages.length;
    log(`${messages.length} on-failure message(s) in the queue`);

    const parsed = messages.map((m) => {
      try {
        return { m, record: parseOnFailure(m.Body ?? '') };
      } catch (e) {
        return { m, error: (e as Error).message };
      }
    });
    // Oldest first within each shard, so that a customer's events are written in their order.
    const key = (p: (typeof parsed)[number]) =>
      p.record ? `${p.record.KinesisBatchInfo.streamArn} ${p.record.KinesisBatchInfo.shardId}` : '';
    parsed.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka !== kb) return ka < kb ? -1 : 1;
      if (!a.record || !b.record) return 0;
      const sa = BigInt(a.record.KinesisBatchInfo.startSequenceNumber);
      const sb = BigInt(b.record.KinesisBatchInfo.startSequenceNumber);
      return sa < sb ? -1 : sa > sb ? 1 : 0;
    });

    const blockedShards = new Set<string>();
    const done = new Set<string>();
    for (const [i, p] of parsed.entries()) {
      const id = `message ${i + 1}/${parsed.length} (${p.m.MessageId})`;
      const keep = (reason: keyof Summary['kept'], detail: string) => {
        summary.kept[reason]++;
        keptHandles.push(p.m.ReceiptHandle!);
        log(`${id}: KEPT (${reason}): ${detail}`);
      };
      if (!p.record) {
        keep('invalid', p.error!);
        continue;
      }
      const info = p.record.KinesisBatchInfo;
      const where = `${info.shardId} ${info.startSequenceNumber}..${info.endSequenceNumber}`;
      if (blockedShards.has(key(p))) {
        keep(
          'blocked',
          `${where}: an earlier message of ${info.shardId} is kept; replaying this one first would reorder events`,
        );
        continue;
      }
      log(
        `${id}: ${where} (${info.batchSize} record(s), ${p.record.requestContext?.condition ?? 'no condition'}, first arrived ${info.approximateArrivalOfFirstRecord ?? '?'})`,
      );
      const read = await readBatch(kinesis, info);
      if (read.kind !== 'ok') {
        blockedShards.add(key(p));
        keep(read.kind === 'trimmed' ? 'trimmed' : 'failing', read.detail);
        continue;
      }
      const todo = read.records.filter((r) => !done.has(`${info.shardId}:${r.SequenceNumber}`));
      const event = todo.map((r) => eventRecord(r, info, fn.roleArn, region));
      const result = await processRecords(fn, event, options, where);
      summary.invocations += result.invocations;
      summary.reinvocations += result.reinvocations;
      summary.records += result.accepted.length;
      for (const seq of result.accepted) done.add(`${info.shardId}:${seq}`);
      if (!result.ok) {
        blockedShards.add(key(p));
        keep('failing', result.detail);
        continue;
      }
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: p.m.ReceiptHandle! }));
      summary.replayed++;
      const skipped = read.records.length - todo.length;
      log(
        `${id}: replayed ${todo.length} record(s)${skipped > 0 ? ` (${skipped} already replayed by an earlier message)` : ''} in ${result.invocations} invocation(s); message deleted`,
      );
    }
  } finally {
    // Kept messages become visible again now, for the next run, instead of after the timeout.
    for (const handle of keptHandles) {
      await sqs
        .send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }))
        .catch(() => undefined);
    }
    if ('dispose' in fn) (fn as { dispose(): void }).dispose();
  }
  const kept = Object.values(summary.kept).reduce((a, b) => a + b, 0);
  log(
    `summary: ${summary.messages} message(s): ${summary.replayed} replayed and deleted, ${kept} kept ` +
      `(${summary.kept.trimmed} trimmed from the stream, ${summary.kept.failing} still failing, ${summary.kept.blocked} behind a kept message, ${summary.kept.invalid} not on-failure records); ` +
      `${summary.records} record(s) accepted in ${summary.invocations} invocation(s), ${summary.reinvocations} re-invocation(s)`,
  );
  return summary;
}

if (require.main === module) {
  (async () => {
    let options: Options;
    try {
      options = parseOptions(process.argv.slice(2));
    } catch (e) {
      process.stderr.write(`replay-failures: ${(e as Error).message}\n`);
      process.exit(2);
    }
    try {
      const summary = await replay(options);
      const kept = Object.values(summary.kept).reduce((a, b) => a + b, 0);
      process.exit(kept > 0 ? 1 : 0);
    } catch (e) {
      process.stderr.write(`replay-failures: ${e instanceof UsageError ? '' : 'failed: '}${(e as Error).message}\n`);
      process.exit(2);
    }
  })();
}
