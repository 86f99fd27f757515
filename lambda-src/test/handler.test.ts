/**
 * The handler against a real moto server: real DynamoDB, Kinesis and SQS protocol.
 */
import { describe, expect, it } from 'vitest';
import { useMotoServer } from '../../test/support/moto';
import { createHandler } from '../src/runtime';
import {
  FAST_RETRY,
  drainQueue,
  envFor,
  expectedCustomer,
  kinesisEvent,
  profileItem,
  rawEvent,
  readStream,
  recordCalls,
  setUp,
  type RecordSpec,
} from './helpers';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const moto = useMotoServer();
const CUSTOMERS = 20;
const items = Array.from({ length: CUSTOMERS }, (_, i) => profileItem(i));

describe('enrichment handler (moto)', () => {
  it('enriches every record, writes it once to the output stream, partition key = customer_id', async () => {
    const r = await setUp(moto, items);
    const batchGets = recordCalls(r.ddb, 'BatchGetItemCommand');
    const handler = createHandler({
      env: envFor(r),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });

    // 60 records over 20 known and 5 unknown customers, plus a raw field that must pass through.
    const specs: RecordSpec[] = Array.from({ length: 60 }, (_, i) => {
      const cust = i % 25 < CUSTOMERS ? `cust-${i % 25}` : `ghost-${i % 25}`;
      return { data: { ...rawEvent(i, cust), source: 'app' } };
    });
    const res = await handler(kinesisEvent(specs));
    expect(res).toEqual({ batchItemFailures: [] });
    expect(batchGets).toHaveLength(1);
    expect(batchGets[0].RequestItems[r.table].Keys).toHaveLength(25);

    const out = await readStream(r.kinesis, r.stream);
    expect(out).toHaveLength(60);
    const byId = new Map(out.map((o) => [o.body.event_id as string, o]));
    expect(byId.size).toBe(60);
    for (let i = 0; i < 60; i++) {
      const n = i % 25;
      const known = n < CUSTOMERS;
      const cust = known ? `cust-${n}` : `ghost-${n}`;
      const o = byId.get(`evt-${i}`)!;
      expect(o.partitionKey).toBe(cust);
      expect(o.body).toEqual({
        ...rawEvent(i, cust),
        source: 'app',
        record_type: 'event',
        customer_name: known ? `Customer ${n}` : null,
        customer: known ? expectedCustomer(n) : null,
      });
    }
    // both shards of the output stream are used (keys hash over the whole range)
    expect(new Set(out.map((o) => o.shardId)).size).toBe(2);
    // events of one customer keep their input order (out is in shard + sequence order)
    const order = new Map<string, number[]>();
    for (const o of out)
      order.set(o.partitionKey, [...(order.get(o.partitionKey) ?? []), Number((o.body.event_id as string).slice(4))]);
    for (const seq of order.values()) expect(seq).toEqual([...seq].sort((a, b) => a - b));
    expect(await drainQueue(r.sqs, r.queueUrl)).toEqual([]);
    expect(handler.lastSummary()).toMatchObject({
      records: 60,
      emitted: 60,
      deadLettered: 0,
      failed: 0,
      lookupRequests: 1,
    });
  });

  it('caches profiles and unknown customers (LRU + TTL), looks up again after the TTL', async () => {
    const r = await setUp(moto, items);
    const batchGets = recordCalls(r.ddb, 'BatchGetItemCommand');
    let clock = 1_000_000;
    const handler = createHandler({
      env: envFor(r, { CACHE_TTL_SECONDS: '60', CACHE_MAX_ENTRIES: '100' }),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
      now: () => clock,
    });
    const batch = (from: number) =>
      kinesisEvent(
        Array.from({ length: 10 }, (_, i) => ({ data: rawEvent(from + i, i < 5 ? `cust-${i}` : `ghost-${i}`) })),
      );

    expect((await handler(batch(0))).batchItemFailures).toEqual([]);
    expect(batchGets).toHaveLength(1);
    expect(handler.lastSummary()).toMatchObject({ cacheHits: 0, cacheMisses: 10 });

    clock += 59_000; // within the TTL: known and unknown customers are both served from the cache
    expect((await handler(batch(100))).batchItemFailures).toEqual([]);
    expect(batchGets).toHaveLength(1);
    expect(handler.lastSummary()).toMatchObject({ cacheHits: 10, cacheMisses: 0, lookupRequests: 0 });

    clock += 2_000; // past the TTL
    expect((await handler(batch(200))).batchItemFailures).toEqual([]);
    expect(batchGets).toHaveLength(2);
    expect(batchGets[1].RequestItems[r.table].Keys).toHaveLength(10);

    const out = await readStream(r.kinesis, r.stream);
    expect(out).toHaveLength(30);
    for (const o of out) {
      const known = (o.body.customer_id as string).startsWith('cust-');
      expect(o.body.customer_name === null).toBe(!known);
    }
  });

  it('splits more than 100 distinct customers into BatchGetItem calls of at most 100 keys', async () => {
    const many = Array.from({ length: 230 }, (_, i) => profileItem(i));
    const r = await setUp(moto, many);
    const batchGets = recordCalls(r.ddb, 'BatchGetItemCommand');
    const handler = createHandler({
      env: envFor(r),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });
    const specs = Array.from({ length: 230 }, (_, i) => ({ data: rawEvent(i, `cust-${i}`) }));
    expect((await handler(kinesisEvent(specs))).batchItemFailures).toEqual([]);
    const sizes = batchGets.map((c) => c.RequestItems[r.table].Keys.length).sort((a: number, b: number) => b - a);
    expect(sizes).toEqual([100, 100, 30]);
    const out = await readStream(r.kinesis, r.stream);
    expect(out.map((o) => o.body.customer_name).sort()).toEqual(many.map((it) => it.name!.S).sort());
  });

  it('splits PutRecords at 500 entries, at 5 MiB, and before a customer already in the call', async () => {
    const r = await setUp(moto, items, 1);
    const puts = recordCalls(r.kinesis, 'PutRecordsCommand');
    const handler = createHandler({
      env: envFor(r),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });

    // 1,100 distinct customers (unknown to the table): the first record alone (the probe a
    // redelivery starts with), then only the 500-entry limit cuts.
    const small = Array.from({ length: 1_100 }, (_, i) => ({ data: rawEvent(i, `walk-in-${i}`) }));
    expect((await handler(kinesisEvent(small))).batchItemFailures).toEqual([]);
    expect(puts.map((p) => p.Records.length)).toEqual([1, 500, 500, 99]);

    // 20 customers round robin: a call ends before the customer repeats (runs of 20, in order).
    puts.length = 0;
    const rr = Array.from({ length: 50 }, (_, i) => ({ data: rawEvent(2_000 + i, `cust-${i % CUSTOMERS}`) }));
    expect((await handler(kinesisEvent(rr))).batchItemFailures).toEqual([]);
    expect(puts.map((p) => p.Records.length)).toEqual([1, 20, 20, 9]);
    expect(
      puts.flatMap((p) =>
        p.Records.map((e: { Data: Uint8Array }) => JSON.parse(Buffer.from(e.Data).toString()).event_id),
      ),
    ).toEqual(rr.map((x) => x.data.event_id));

    puts.length = 0;
    const blob = 'x'.repeat(300 * 1024);
    const big = Array.from({ length: 40 }, (_, i) => ({
      data: rawEvent(5_000 + i, `cust-${i % CUSTOMERS}`, { payload: { blob } }),
    }));
    expect((await handler(kinesisEvent(big))).batchItemFailures).toEqual([]);
    expect(puts.length).toBeGreaterThanOrEqual(3);
    for (const p of puts) {
      const bytes = (p.Records as { Data: Uint8Array; PartitionKey: string }[]).reduce(
        (n, e) => n + e.Data.length + Buffer.byteLength(e.PartitionKey),
        0,
      );
      expect(bytes).toBeLessThanOrEqual(5 * 1024 * 1024);
    }
    expect(puts.reduce((n, p) => n + p.Records.length, 0)).toBe(40);

    const out = await readStream(r.kinesis, r.stream);
    expect(out).toHaveLength(1_190);
    expect(new Set(out.map((o) => o.body.event_id)).size).toBe(1_190);
  });

  it('sends malformed records of each kind to the DLQ with reason, original data and Kinesis metadata', async () => {
    const r = await setUp(moto, items);
    const handler = createHandler({
      env: envFor(r, { MAX_RECORD_BYTES: '4096' }),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });
    const specs: RecordSpec[] = [
      { data: rawEvent(0, 'cust-1') },
      { data: '{"event_id": "broken", "customer_id": ' }, // not JSON
      { data: '[1,2,3]' }, // JSON, not an object
      { data: '"just a string"' },
      { data: 'null' },
      { data: { event_id: 'no-cust', event_type: 'click', timestamp: '2026-01-01T00:00:00Z' } },
      { data: { event_id: 'num-cust', customer_id: 42 } },
      { data: { event_id: 'empty-cust', customer_id: '' } },
      { data: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) }, // invalid UTF-8
      { data: rawEvent(9, 'cust-2', { payload: { blob: 'y'.repeat(5_000) } }) }, // over MAX_RECORD_BYTES
      { data: rawEvent(10, 'cust-3', { payload: { blob: 'z'.repeat(3_900) } }) }, // fits raw; enriched it does not
      { data: rawEvent(11, 'ghost-1') },
    ];
    const event = kinesisEvent(specs);
    const res = await handler(event);
    expect(res.batchItemFailures).toEqual([]);

    const out = await readStream(r.kinesis, r.stream);
    expect(out.map((o) => o.body.event_id).sort()).toEqual(['evt-0', 'evt-11']);

    const dlq = await drainQueue(r.sqs, r.queueUrl);
    const bySeq = new Map(dlq.map((m) => [m.body.kinesis.sequence_number as string, m]));
    expect(dlq).toHaveLength(10);
    expect(bySeq.size).toBe(10);
    const expectReason: [number, string][] = [
      [1, 'invalid_json'],
      [2, 'not_an_object'],
      [3, 'not_an_object'],
      [4, 'not_an_object'],
      [5, 'missing_customer_id'],
      [6, 'missing_customer_id'],
      [7, 'missing_customer_id'],
      [8, 'invalid_json'],
      [9, 'record_too_large'],
      [10, 'enriched_record_too_large'],
    ];
    for (const [i, reason] of expectReason) {
      const rec = event.Records[i]!;
      const m = bySeq.get(rec.kinesis.sequenceNumber)!;
      expect(m, `record ${i}`).toBeDefined();
      expect(m.body.reason).toBe(reason);
      expect(m.reasonAttribute).toBe(reason);
      expect(m.body.data).toBe(rec.kinesis.data);
      expect(m.body.data_truncated).toBe(false);
      expect(m.body.kinesis).toMatchObject({
        event_source_arn: rec.eventSourceARN,
        event_id: rec.eventID,
        shard_id: 'shardId-000000000000',
        partition_key: rec.kinesis.partitionKey,
      });
      expect(typeof m.body.detail).toBe('string');
    }
    expect(handler.lastSummary()).toMatchObject({ records: 12, emitted: 2, deadLettered: 10, failed: 0 });
  });

  it('truncates the copy of a record too large for an SQS message but keeps its locator and hash', async () => {
    const r = await setUp(moto, items);
    const handler = createHandler({
      env: envFor(r),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });
    const huge = Buffer.alloc(1_048_577, 0x61); // 1 MiB + 1 byte of 'a', over the default limit
    const event = kinesisEvent([{ data: huge, partitionKey: 'cust-1' }, { data: rawEvent(1, 'cust-1') }]);
    expect((await handler(event)).batchItemFailures).toEqual([]);
    const [m, ...rest] = await drainQueue(r.sqs, r.queueUrl);
    expect(rest).toEqual([]);
    expect(m!.body).toMatchObject({ reason: 'record_too_large', data_bytes: 1_048_577, data_truncated: true });
    expect(event.Records[0]!.kinesis.data.startsWith(m!.body.data)).toBe(true);
    expect(m!.body.data_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await readStream(r.kinesis, r.stream)).toHaveLength(1);
  });

  it('works without a metrics namespace and with metrics enabled (local runs)', async () => {
    const r = await setUp(moto, items);
    const saved = process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    // Capture (and keep out of the test output) what Powertools writes: EMF on stdout, the
    // missing-namespace warning on stderr.
    const writes: string[] = [];
    const out = process.stdout.write;
    const err = process.stderr.write;
    const capture = ((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    process.stdout.write = capture;
    process.stderr.write = capture;
    try {
      const env = envFor(r);
      delete (env as Record<string, string | undefined>).POWERTOOLS_SERVICE_NAME;
      const handler = createHandler({ env, dynamodb: r.ddb, kinesis: r.kinesis, sqs: r.sqs, retry: FAST_RETRY });
      const res = await handler(kinesisEvent([{ data: rawEvent(1, 'cust-1') }]));
      expect(res.batchItemFailures).toEqual([]);
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
      process.env.POWERTOOLS_METRICS_DISABLED = saved;
    }
    const emf = writes.filter((w) => w.includes('"_aws"')).map((w) => JSON.parse(w) as Record<string, unknown>);
    expect(emf.length).toBeGreaterThan(0);
    expect(emf.some((e) => e.RecordsIn === 1 && e.RecordsOut === 1)).toBe(true);
  });
});
