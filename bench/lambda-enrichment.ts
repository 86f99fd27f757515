/**
 * Benchmark of the enrichment Lambda against a moto server it starts itself (127.0.0.1 only).
 *
 *   npx tsx bench/lambda-enrichment.ts [--reps 3] [--records 10000] [--customers 500] [--batch 500] [--imports 15]
 *
 * Same generated batches for both implementations (Zipf s=1.0 customer popularity, batches as an
 * event source mapping delivers them, processed one after another like one shard):
 *   - handler:  lambda-src (BatchGetItem for the distinct uncached customers, LRU+TTL cache,
 *               PutRecords in sequence order, one record per customer per call so a customer's
 *               events keep their order under failures: about as many calls per batch as its
 *               busiest customer has events)
 *   - baseline: written like the blueprint's example: one GetItem per uncached customer behind
 *               a 1000-entry LRU with no expiry (functools.lru_cache), one PutRecord per record
 * Figures: records/s and DynamoDB requests per 1,000 records (medians over the repetitions,
 * order alternated), then bundle size and the cold-start import time of the bundle (median over
 * fresh `node` processes). Every run's output stream is read back and counted.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordCommand,
} from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { KinesisStreamEvent } from 'aws-lambda';
import { unmarshallItem } from '../lambda-src/src/dynamodb-backend';
import { enrich, type RawEvent } from '../lambda-src/src/records';
import { createHandler } from '../lambda-src/src/runtime';
import { buildLambda } from '../scripts/build-lambda';
import { startMotoServer } from '../test/support/moto-server';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const ROOT = resolve(__dirname, '..');

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const REPS = arg('reps', 3);
const RECORDS = arg('records', 10_000);
const CUSTOMERS = arg('customers', 500);
// The event source mapping's default batch size in components/lambda-enrichment (batch_size).
const BATCH = arg('batch', 500);
const IMPORTS = arg('imports', 15);
/** Extra ESM batch sizes for the handler only (the baseline works record by record). */
const SWEEP = [100, 1000].filter((n) => n !== BATCH && n <= RECORDS);
const SHARDS = 4;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ------------------------------------------------------------------ workload

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ZIPF_S = 1.0;

type KRecord = KinesisStreamEvent['Records'][number];

/** Zipf(s = 1.0) over customer ranks, deterministic; customer rank k is `cust-k`. */
function workload(): { records: KRecord[]; customers: number[]; distinct: number } {
  const rnd = mulberry32(42);
  const weights = Array.from({ length: CUSTOMERS }, (_, k) => 1 / (k + 1) ** ZIPF_S);
  const cdf: number[] = [];
  weights.reduce((acc, w, i) => (cdf[i] = acc + w), 0);
  const total = cdf[cdf.length - 1]!;
  const pick = () => {
    const x = rnd() * total;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const customers: number[] = [];
  let seq = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n;
  const records = Array.from({ length: RECORDS }, (_, i): KRecord => {
    const c = pick();
    customers.push(c);
    const body = {
      event_id: `evt-${i}`,
      customer_id: `cust-${c}`,
      event_type: ['click', 'view', 'purchase', 'signup'][i % 4],
      timestamp: new Date(Date.UTC(2026, 0, 1) + i * 10).toISOString(),
      payload: { page: `/p/${i % 37}`, value: (i % 100) / 4 },
    };
    seq += 1n;
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: body.customer_id,
        sequenceNumber: seq.toString(),
        data: Buffer.from(JSON.stringify(body)).toString('base64'),
        approximateArrivalTimestamp: 1_767_225_600 + i / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${seq}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::123456789012:role/enrichment',
      awsRegion: 'us-east-1',
      eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/ingest',
    };
  });
  return { records, customers, distinct: new Set(customers).size };
}

function toBatches(records: KRecord[], size: number): KinesisStreamEvent[] {
  const out: KinesisStreamEvent[] = [];
  for (let i = 0; i < records.length; i += size) out.push({ Records: records.slice(i, i + size) });
  return out;
}

/**
 * Batches that contain a customer not seen in any earlier batch. Any implementation that looks a
 * customer up on first use needs at least this many lookup calls; the baseline needs one per
 * distinct customer. Their quotient caps the achievable request reduction for a workload.
 */
function batchesWithFirstSeen(customers: number[], size: number): number {
  const seen = new Set<number>();
  let n = 0;
  for (let i = 0; i < customers.length; i += size) {
    let fresh = false;
    for (const c of customers.slice(i, i + size)) {
      if (seen.has(c)) continue;
      seen.add(c);
      fresh = true;
    }
    if (fresh) n++;
  }
  return n;
}

// ------------------------------------------------------------------ AWS set-up

function clients(endpoint: string) {
  const cfg = () => ({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: 30_000 }),
  });
  return { ddb: new DynamoDBClient(cfg()), kinesis: new KinesisClient(cfg()), sqs: new SQSClient(cfg()) };
}

/** Counts DynamoDB requests that go on the wire (one per attempt). */
function countRequests(client: DynamoDBClient): { n: number } {
  const counter = { n: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      counter.n++;
      return next(args);
    },
    { step: 'finalizeRequest', name: `count-${Math.random()}`, priority: 'low' },
  );
  return counter;
}

let streamNo = 0;
async function newStream(kinesis: KinesisClient): Promise<string> {
  const name = `bench-out-${process.pid}-${++streamNo}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: SHARDS }));
  for (let i = 0; i < 100; i++) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return name;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('stream not active');
}

async function countStream(kinesis: KinesisClient, stream: string): Promise<number> {
  let n = 0;
  const shards = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
  for (const sh of shards.Shards ?? []) {
    let it = (
      await kinesis.send(
        new GetShardIteratorCommand({ StreamName: stream, ShardId: sh.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
      )
    ).ShardIterator;
    while (it) {
      const r = await kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
      if (!r.Records?.length) break;
      n += r.Records.length;
      it = r.NextShardIterator;
    }
  }
  return n;
}

// ------------------------------------------------------------------ implementations

interface RunResult {
  seconds: number;
  ddbRequests: number;
  written: number;
  /** Kinesis write calls (PutRecords for the handler, PutRecord for the baseline). */
  kinesisWrites: number;
}

async function runHandler(
  endpoint: string,
  table: string,
  queueUrl: string,
  batches: KinesisStreamEvent[],
): Promise<RunResult> {
  const c = clients(endpoint);
  const stream = await newStream(c.kinesis);
  const ddbCount = countRequests(c.ddb);
  const handler = createHandler({
    env: { LOOKUP_TABLE_NAME: table, OUTPUT_STREAM_NAME: stream, DLQ_URL: queueUrl, POWERTOOLS_LOG_LEVEL: 'ERROR' },
    dynamodb: c.ddb,
    kinesis: c.kinesis,
    sqs: c.sqs,
  });
  const t0 = performance.now();
  let kinesisWrites = 0;
  for (const ev of batches) {
    const res = await handler(ev);
    if (res.batchItemFailures.length > 0) throw new Error(`handler reported failures: ${res.batchItemFailures.length}`);
    kinesisWrites += handler.lastSummary()!.putRequests;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, ddbRequests: ddbCount.n, written: await countStream(c.kinesis, stream), kinesisWrites };
}

/** functools.lru_cache(maxsize=1000): LRU, no expiry, caches whatever the function returned. */
class PlainLru<V> {
  private m = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.m.set(k, v);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value as string);
  }
}

async function runBaseline(endpoint: string, table: string, batches: KinesisStreamEvent[]): Promise<RunResult> {
  const c = clients(endpoint);
  const stream = await newStream(c.kinesis);
  const ddbCount = countRequests(c.ddb);
  const cache = new PlainLru<Record<string, unknown>>(1000);
  const getCustomerInfo = async (id: string) => {
    const hit = cache.get(id);
    if (hit !== undefined) return hit;
    const res = await c.ddb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: id } } }));
    const item = res.Item ? unmarshallItem(res.Item) : {};
    cache.set(id, item);
    return item;
  };
  const t0 = performance.now();
  for (const ev of batches) {
    for (const record of ev.Records) {
      const data = JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')) as RawEvent;
      const customer = await getCustomerInfo(data.customer_id);
      const enriched = enrich(data, Object.keys(customer).length > 0 ? customer : null);
      await c.kinesis.send(
        new PutRecordCommand({
          StreamName: stream,
          PartitionKey: data.customer_id,
          Data: Buffer.from(JSON.stringify(enriched)),
        }),
      );
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, ddbRequests: ddbCount.n, written: await countStream(c.kinesis, stream), kinesisWrites: RECORDS };
}

// ------------------------------------------------------------------ bundle

function importTimes(indexJs: string): number[] {
  const env = {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    LOOKUP_TABLE_NAME: 'lookup',
    OUTPUT_STREAM_NAME: 'output',
    DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/dlq',
    POWERTOOLS_SERVICE_NAME: 'enrichment',
    POWERTOOLS_METRICS_NAMESPACE: 'Pipeline',
  };
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(indexJs)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));`;
  const times: number[] = [];
  for (let i = 0; i < IMPORTS; i++) {
    const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', cwd: '/' });
    if (r.status !== 0) throw new Error(`import failed: ${r.stderr}`);
    times.push(Number(r.stdout));
  }
  return times;
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const { records, customers, distinct } = workload();
  const batches = toBatches(records, BATCH);
  const floor = batchesWithFirstSeen(customers, BATCH);
  console.log(
    `workload: ${RECORDS} records, ${CUSTOMERS} customers (Zipf s=${ZIPF_S}, ${distinct} distinct seen, every 10th unknown ` +
      `to the table), ${batches.length} batches of ${BATCH}; output stream ${SHARDS} shards; ${REPS} repetitions`,
  );
  console.log(
    `  ${floor} of ${batches.length} batches contain a first-seen customer: on-demand lookups need >= ${floor} calls, ` +
      `the baseline ${distinct} -> at most ${(distinct / floor).toFixed(1)}x fewer requests at this batch size`,
  );
  const moto = await startMotoServer();
  try {
    const c = clients(moto.endpoint);
    const table = 'bench-lookup';
    await c.ddb.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const items: Record<string, AttributeValue>[] = [];
    for (let k = 0; k < CUSTOMERS; k++) {
      if (k % 10 === 9) continue;
      items.push({
        pk: { S: `cust-${k}` },
        name: { S: `Customer ${k}` },
        tier: { S: ['gold', 'silver', 'bronze'][k % 3]! },
        country: { S: ['DE', 'US', 'JP', 'BR'][k % 4]! },
        since: { N: String(2010 + (k % 15)) },
      });
    }
    for (let i = 0; i < items.length; i += 25) {
      await c.ddb.send(
        new BatchWriteItemCommand({
          RequestItems: { [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
    }
    const queueUrl = (await c.sqs.send(new CreateQueueCommand({ QueueName: 'bench-dlq' }))).QueueUrl!;

    // warm-up (JIT, connections, moto code paths), not counted
    await runHandler(moto.endpoint, table, queueUrl, batches.slice(0, 5));
    await runBaseline(moto.endpoint, table, batches.slice(0, 2));

    const h: RunResult[] = [];
    const b: RunResult[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? ['handler', 'baseline'] : ['baseline', 'handler'];
      for (const which of order) {
        const r =
          which === 'handler'
            ? await runHandler(moto.endpoint, table, queueUrl, batches)
            : await runBaseline(moto.endpoint, table, batches);
        if (r.written !== RECORDS)
          throw new Error(`${which}: ${r.written} records in the output stream, expected ${RECORDS}`);
        (which === 'handler' ? h : b).push(r);
        console.log(
          `  rep ${rep + 1} ${which.padEnd(8)} ${(RECORDS / r.seconds).toFixed(0).padStart(7)} records/s  ` +
            `${r.ddbRequests} DynamoDB requests  ${r.kinesisWrites} Kinesis write calls  ${r.seconds.toFixed(2)} s`,
        );
      }
    }
    const rate = (rs: RunResult[]) => median(rs.map((r) => RECORDS / r.seconds));
    const per1k = (rs: RunResult[]) => median(rs.map((r) => (r.ddbRequests * 1000) / RECORDS));

    const sweep: { size: number; rate: number; per1k: number; cap: number }[] = [];
    for (const size of SWEEP) {
      const rs: RunResult[] = [];
      for (let rep = 0; rep < REPS; rep++)
        rs.push(await runHandler(moto.endpoint, table, queueUrl, toBatches(records, size)));
      sweep.push({ size, rate: rate(rs), per1k: per1k(rs), cap: distinct / batchesWithFirstSeen(customers, size) });
    }

    const build = await buildLambda();
    const imports = importTimes(build.indexJs);

    const figures = {
      handler: { recordsPerSecond: rate(h), ddbRequestsPer1000: per1k(h) },
      baseline: { recordsPerSecond: rate(b), ddbRequestsPer1000: per1k(b) },
      bundle: {
        indexJsBytes: build.bytes.indexJs,
        daxJsBytes: build.bytes.daxJs,
        zipBytes: build.bytes.zip,
        zipSha256: build.zipSha256,
      },
      batchSizeSweep: sweep,
      importMs: { median: median(imports), min: Math.min(...imports), max: Math.max(...imports), n: imports.length },
    };
    const fewer = figures.baseline.ddbRequestsPer1000 / figures.handler.ddbRequestsPer1000;
    const faster = figures.handler.recordsPerSecond / figures.baseline.recordsPerSecond;
    const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
    console.log('');
    console.log('                         handler    baseline');
    console.log(
      `records/s (median)     ${figures.handler.recordsPerSecond.toFixed(0).padStart(9)} ${figures.baseline.recordsPerSecond.toFixed(0).padStart(11)}`,
    );
    console.log(
      `DynamoDB req / 1000    ${figures.handler.ddbRequestsPer1000.toFixed(1).padStart(9)} ${figures.baseline.ddbRequestsPer1000.toFixed(1).padStart(11)}`,
    );
    console.log('');
    console.log(`DynamoDB requests: ${fewer.toFixed(1)}x fewer   (goal >= 10x: ${ok(fewer >= 10)})`);
    console.log(`throughput:        ${faster.toFixed(1)}x        (goal >= 5x: ${ok(faster >= 5)})`);
    for (const sw of sweep) {
      const f = figures.baseline.ddbRequestsPer1000 / sw.per1k;
      console.log(
        `ESM batch size ${String(sw.size).padStart(4)}: handler ${sw.rate.toFixed(0)} records/s, ${sw.per1k.toFixed(1)} DynamoDB req/1000 ` +
          `-> ${f.toFixed(1)}x fewer than the baseline (cap ${sw.cap.toFixed(1)}x), ${(sw.rate / figures.baseline.recordsPerSecond).toFixed(1)}x throughput`,
      );
    }
    console.log(
      `bundle: index.js ${(build.bytes.indexJs / 1024).toFixed(1)} KiB (goal < 1 MB: ${ok(build.bytes.indexJs < 1_000_000)}), ` +
        `dax.js ${(build.bytes.daxJs / 1024).toFixed(1)} KiB (loaded only with DAX_ENDPOINT), enrichment.zip ${(build.bytes.zip / 1024).toFixed(1)} KiB`,
    );
    console.log(
      `cold-start import of index.js: median ${figures.importMs.median.toFixed(1)} ms over ${imports.length} fresh node processes ` +
        `(min ${figures.importMs.min.toFixed(1)}, max ${figures.importMs.max.toFixed(1)}; goal < 150 ms: ${ok(figures.importMs.median < 150)})`,
    );
    const outDir = join(ROOT, '.bench');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(
      join(outDir, 'lambda-enrichment.json'),
      `${JSON.stringify({ workload: { RECORDS, CUSTOMERS, BATCH, REPS, distinct }, ...figures }, null, 2)}\n`,
    );
  } finally {
    await moto.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
