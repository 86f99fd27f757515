// biome-ignore-all lint/suspicious/noExplicitAny: the fault-injection middleware wraps every AWS SDK v3 command of any client; the SDK's own middleware types are per-client generics.
/**
 * Test helpers for the enrichment handler: Kinesis event builders, moto resource set-up,
 * read-back of the output stream and the DLQ, and fault injection that rewrites single real
 * responses of real clients (the rest of the traffic reaches moto unchanged).
 */
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { TEST_REGION, type MotoServer } from '../../test/support/moto';
import type { HandlerOptions } from '../src/runtime';

export const FAST_RETRY: NonNullable<HandlerOptions['retry']> = {
  lookup: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4 },
  put: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4 },
  dlq: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 4 },
};

let counter = 0;
export const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

// ---------------------------------------------------------------- events

export interface RecordSpec {
  /** object → JSON; string → UTF-8 text; Buffer → raw bytes */
  data: unknown;
  partitionKey?: string;
}

const SEQ_BASE = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n;

/** Builds a KinesisStreamEvent as an event source mapping delivers it (one shard, rising sequence numbers). */
export function kinesisEvent(
  specs: RecordSpec[],
  opts: { shardId?: string; seqStart?: bigint; step?: bigint } = {},
): KinesisStreamEvent {
  const shardId = opts.shardId ?? 'shardId-000000000000';
  const start = opts.seqStart ?? SEQ_BASE;
  const step = opts.step ?? 1n;
  const Records = specs.map((spec, i): KinesisStreamRecord => {
    const bytes = Buffer.isBuffer(spec.data)
      ? spec.data
      : Buffer.from(typeof spec.data === 'string' ? spec.data : JSON.stringify(spec.data));
    const sequenceNumber = (start + BigInt(i) * step).toString();
    const pk =
      spec.partitionKey ??
      (typeof spec.data === 'object' && spec.data !== null && !Buffer.isBuffer(spec.data)
        ? String((spec.data as { customer_id?: unknown }).customer_id ?? 'none')
        : 'none');
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: pk,
        sequenceNumber,
        data: bytes.toString('base64'),
        approximateArrivalTimestamp: 1_767_225_600 + i / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/enrichment',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/ingest',
    };
  });
  return { Records };
}

export interface RawEventSpec {
  event_id: string;
  customer_id: string;
  event_type: string;
  timestamp: string;
  payload?: unknown;
}

export function rawEvent(i: number, customerId: string, extra: Partial<RawEventSpec> = {}): RawEventSpec {
  return {
    event_id: `evt-${i}`,
    customer_id: customerId,
    event_type: ['click', 'view', 'purchase'][i % 3]!,
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    payload: { n: i, tags: ['a', 'b'] },
    ...extra,
  };
}

// ---------------------------------------------------------------- resources

export interface Resources {
  ddb: DynamoDBClient;
  kinesis: KinesisClient;
  sqs: SQSClient;
  table: string;
  stream: string;
  queueUrl: string;
}

export function clients(moto: MotoServer): Pick<Resources, 'ddb' | 'kinesis' | 'sqs'> {
  // moto.clientConfig() already speaks HTTP/1.1 (the Kinesis client defaults to HTTP/2).
  const cfg = () => ({ ...moto.clientConfig(), maxAttempts: 3 });
  return { ddb: new DynamoDBClient(cfg()), kinesis: new KinesisClient(cfg()), sqs: new SQSClient(cfg()) };
}

export async function createTable(ddb: DynamoDBClient, table: string): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

export async function seedTable(
  ddb: DynamoDBClient,
  table: string,
  items: Record<string, AttributeValue>[],
): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    await ddb.send(
      new BatchWriteItemCommand({
        RequestItems: { [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
      }),
    );
  }
}

export async function createStream(kinesis: KinesisClient, stream: string, shards = 2): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }));
  for (let i = 0; i < 50; i++) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`stream ${stream} not ACTIVE`);
}

export async function createQueue(sqs: SQSClient, name: string): Promise<string> {
  const res = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  return res.QueueUrl!;
}

/** Fresh table (seeded), output stream and DLQ for one test. */
export async function setUp(moto: MotoServer, items: Record<string, AttributeValue>[], shards = 2): Promise<Resources> {
  const c = clients(moto);
  const table = unique('lookup');
  const stream = unique('output');
  await createTable(c.ddb, table);
  await seedTable(c.ddb, table, items);
  await createStream(c.kinesis, stream, shards);
  const queueUrl = await createQueue(c.sqs, unique('dlq'));
  return { ...c, table, stream, queueUrl };
}

export function envFor(r: Pick<Resources, 'table' | 'stream' | 'queueUrl'>, extra: Record<string, string> = {}) {
  return {
    LOOKUP_TABLE_NAME: r.table,
    OUTPUT_STREAM_NAME: r.stream,
    DLQ_URL: r.queueUrl,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_SERVICE_NAME: 'enrichment-test',
    ...extra,
  };
}

export interface OutputRecord {
  shardId: string;
  partitionKey: string;
  sequenceNumber: string;
  body: Record<string, unknown>;
  /** The record's data exactly as written (body is JSON.parse of it, which rounds big numbers). */
  raw: string;
}

/** Reads every record of every shard of a stream from TRIM_HORIZON. */
export async function readStream(kinesis: KinesisClient, stream: string): Promise<OutputRecord[]> {
  const out: OutputRecord[] = [];
  const shards = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
  for (const shard of shards.Shards ?? []) {
    let iterator = (
      await kinesis.send(
        new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
      )
    ).ShardIterator;
    while (iterator) {
      const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of res.Records ?? []) {
        const raw = Buffer.from(r.Data!).toString('utf8');
        out.push({
          shardId: shard.ShardId!,
          partitionKey: r.PartitionKey!,
          sequenceNumber: r.SequenceNumber!,
          body: JSON.parse(raw) as Record<string, unknown>,
          raw,
        });
      }
      if ((res.Records ?? []).length === 0) break;
      iterator = res.NextShardIterator;
    }
  }
  return out;
}

export interface DlqMessage {
  body: Record<string, unknown> & { reason: string; data: string; kinesis: Record<string, unknown> };
  reasonAttribute: string | undefined;
}

/** Drains the queue (receive + delete until empty). */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<DlqMessage[]> {
  const out: DlqMessage[] = [];
  for (;;) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    const msgs = res.Messages ?? [];
    if (msgs.length === 0) return out;
    for (const m of msgs) {
      out.push({
        body: JSON.parse(m.Body!) as DlqMessage['body'],
        reasonAttribute: m.MessageAttributes?.reason?.StringValue,
      });
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
}

// ---------------------------------------------------------------- fault injection / observation

type AnyClient = { middlewareStack: { add(mw: any, opts: any): void } };

/** Records the input of every call of a command that reaches the wire. */
export function recordCalls(client: AnyClient, commandName: string): any[] {
  const calls: any[] = [];
  client.middlewareStack.add(
    (next: any, context: any) => async (args: any) => {
      if (context.commandName === commandName) calls.push(structuredClone(args.input));
      return next(args);
    },
    { step: 'initialize', name: `record-${commandName}-${++counter}` },
  );
  return calls;
}

/**
 * BatchGetItem: keys for which `withhold(pk, call)` is true are taken out of the real request
 * and returned as UnprocessedKeys, as DynamoDB does under load. `call` counts BatchGetItem calls from 1.
 */
export function injectUnprocessedKeys(client: DynamoDBClient, withhold: (pk: string, call: number) => boolean): void {
  let call = 0;
  (client as AnyClient).middlewareStack.add(
    (next: any, context: any) => async (args: any) => {
      if (context.commandName !== 'BatchGetItemCommand') return next(args);
      call++;
      const input = args.input as { RequestItems: Record<string, { Keys: Record<string, AttributeValue>[] }> };
      const [table, req] = Object.entries(input.RequestItems)[0]!;
      const held = req.Keys.filter((k) => withhold(k.pk!.S!, call));
      const kept = req.Keys.filter((k) => !withhold(k.pk!.S!, call));
      let result: any;
      if (kept.length > 0) {
        result = await next({ ...args, input: { ...input, RequestItems: { [table]: { ...req, Keys: kept } } } });
      } else {
        result = { output: { $metadata: { httpStatusCode: 200 }, Responses: { [table]: [] } }, response: {} };
      }
      if (held.length > 0) result.output.UnprocessedKeys = { [table]: { Keys: held } };
      return result;
    },
    { step: 'initialize', name: `unprocessed-keys-${++counter}` },
  );
}

/**
 * Makes the first `times` BatchGetItem attempts fail with ProvisionedThroughputExceededException.
 * Injected below the SDK's retry middleware, so the SDK's own retry strategy sees them like real throttles.
 */
export function injectThrottling(client: DynamoDBClient, times: number): { attempts: () => number; stop: () => void } {
  let attempts = 0;
  let limit = times;
  (client as AnyClient).middlewareStack.add(
    (next: any, context: any) => async (args: any) => {
      if (context.commandName !== 'BatchGetItemCommand') return next(args);
      attempts++;
      if (attempts <= limit) {
        throw new ProvisionedThroughputExceededException({
          message: 'injected: throughput exceeds the current capacity',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    { step: 'deserialize', name: `throttle-${++counter}` },
  );
  return {
    attempts: () => attempts,
    stop: () => {
      limit = 0;
    },
  };
}

/**
 * PutRecords: entries for which `fail(body, call)` is true are removed from the real request and
 * reported back as failed entries (ProvisionedThroughputExceededException), keeping the positions
 * of the response aligned with the request exactly as Kinesis does.
 */
export function injectPutRecordsFailures(
  client: KinesisClient,
  fail: (body: Record<string, unknown>, call: number) => boolean,
): { calls: () => number } {
  let call = 0;
  (client as AnyClient).middlewareStack.add(
    (next: any, context: any) => async (args: any) => {
      if (context.commandName !== 'PutRecordsCommand') return next(args);
      call++;
      const records = args.input.Records as { Data: Uint8Array; PartitionKey: string }[];
      const failing = records.map((r) => fail(JSON.parse(Buffer.from(r.Data).toString('utf8')), call));
      const kept = records.filter((_, i) => !failing[i]);
      let real: any[] = [];
      let result: any = { output: { $metadata: { httpStatusCode: 200 } }, response: {} };
      if (kept.length > 0) {
        result = await next({ ...args, input: { ...args.input, Records: kept } });
        real = result.output.Records;
      }
      let j = 0;
      const merged = records.map((_, i) =>
        failing[i]
          ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'injected: rate exceeded for shard' }
          : real[j++],
      );
      result.output.Records = merged;
      result.output.FailedRecordCount = merged.filter((r) => r.ErrorCode).length;
      return result;
    },
    { step: 'initialize', name: `put-records-failures-${++counter}` },
  );
  return { calls: () => call };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

// ---------------------------------------------------------------- profiles

export function profileItem(i: number): Record<string, AttributeValue> {
  return {
    pk: { S: `cust-${i}` },
    name: { S: `Customer ${i}` },
    tier: { S: ['gold', 'silver', 'bronze'][i % 3]! },
    region: { S: i % 2 === 0 ? 'eu-west-1' : 'us-east-1' },
    lifetime_value: { N: String(i * 10.5) },
    active: { BOOL: i % 4 !== 0 },
    tags: { SS: [`t${i}`] },
    address: { M: { city: { S: `City ${i}` }, zip: { N: String(10_000 + i) } } },
  };
}

/** The `customer` object the handler should produce for profileItem(i). */
export function expectedCustomer(i: number): Record<string, unknown> {
  return {
    tier: ['gold', 'silver', 'bronze'][i % 3],
    region: i % 2 === 0 ? 'eu-west-1' : 'us-east-1',
    lifetime_value: i * 10.5,
    active: i % 4 !== 0,
    tags: [`t${i}`],
    address: { city: `City ${i}`, zip: 10_000 + i },
  };
}

/**
 * The environment of the handler bundle run in its own `node` process against a moto server:
 * only PATH from the parent, moto's endpoint, the test region and credentials.
 */
export function bundleProcessEnv(motoEndpoint: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_ENDPOINT_URL: motoEndpoint,
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  };
}
