/**
 * Fault cases against a real moto server. UnprocessedKeys, throttling and PutRecords partial
 * failures are injected by rewriting single real responses of real clients (helpers.ts); the rest
 * of the traffic is real. Every case asserts exactly which records are reported as failures and
 * that every other record arrived exactly once (output stream or DLQ).
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { useMotoServer } from '../../test/support/moto';
import { createHandler } from '../src/runtime';
import {
  FAST_RETRY,
  drainQueue,
  envFor,
  injectPutRecordsFailures,
  injectThrottling,
  injectUnprocessedKeys,
  kinesisEvent,
  profileItem,
  rawEvent,
  readStream,
  recordCalls,
  setUp,
  unique,
  type Resources,
} from './helpers';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const moto = useMotoServer();
const items = Array.from({ length: 30 }, (_, i) => profileItem(i));

/** 50 records over 30 known customers (cust-0..29) and 2 unknown ones, one shard. */
function batch(n = 50): KinesisStreamEvent {
  return kinesisEvent(
    Array.from({ length: n }, (_, i) => ({ data: rawEvent(i, i % 32 < 30 ? `cust-${i % 32}` : `ghost-${i % 32}`) })),
  );
}

const seqOf = (event: KinesisStreamEvent, pred: (i: number, customer: string) => boolean): string[] =>
  event.Records.flatMap((r, i) => {
    const body = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')) as { customer_id: string };
    return pred(i, body.customer_id) ? [r.kinesis.sequenceNumber] : [];
  });

/** Every record not in `failed` arrived exactly once in the output; none of `failed` did. */
async function expectExactlyOnce(r: Resources, event: KinesisStreamEvent, failedSeqs: string[]): Promise<void> {
  const failed = new Set(failedSeqs);
  await expectExactly(
    r,
    event,
    event.Records.flatMap((rec, i) => (failed.has(rec.kinesis.sequenceNumber) ? [] : [i])),
  );
}

/** The output stream holds exactly the records at these input positions, once each. */
async function expectExactly(r: Resources, event: KinesisStreamEvent, positions: number[]): Promise<void> {
  const expected = positions.map(
    (i) =>
      (JSON.parse(Buffer.from(event.Records[i]!.kinesis.data, 'base64').toString('utf8')) as { event_id: string })
        .event_id,
  );
  const out = await readStream(r.kinesis, r.stream);
  const ids = out.map((o) => o.body.event_id as string);
  expect(ids.length).toBe(new Set(ids).size); // no duplicates
  expect(ids.sort()).toEqual(expected.sort());
  for (const o of out) {
    expect(o.body.record_type).toBe('event');
    expect(o.partitionKey).toBe(o.body.customer_id);
  }
}

describe('lookup faults', () => {
  it('retries only the UnprocessedKeys of BatchGetItem and then enriches everything', async () => {
    const r = await setUp(moto, items);
    const calls = recordCalls(r.ddb, 'BatchGetItemCommand');
    const withheld = new Set(['cust-3', 'cust-7', 'cust-11', 'ghost-30']);
    injectUnprocessedKeys(r.ddb, (pk, call) => call === 1 && withheld.has(pk));
    const handler = createHandler({
      env: envFor(r),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });
    const event = batch();

    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(calls).toHaveLength(2);
    expect(calls[0].RequestItems[r.table].Keys).toHaveLength(32);
    const retried = calls[1].RequestItems[r.table].Keys.map((k: { pk: { S: string } }) => k.pk.S).sort();
    expect(retried).toEqual([...withheld].sort());
    await expectExactlyOnce(r, event, []);
    const out = await readStream(r.kinesis, r.stream);
    for (const o of out.filter((x) => withheld.has(x.body.customer_id as string))) {
      const known = (o.body.customer_id as string).startsWith('cust-');
      expect(o.body.customer_name).toBe(known ? `Customer ${(o.body.customer_id as string).slice(5)}` : null);
    }
  });

  it('checkpoints at the first record of a customer still unprocessed after the retries; writes only what comes before', async () => {
    const r = await setUp(moto, items);
    const calls = recordCalls(r.ddb, 'BatchGetItemCommand');
    const stuck = new Set(['cust-5', 'cust-20']);
    injectUnprocessedKeys(r.ddb, (pk) => stuck.has(pk));
    const handler = createHandler({
      env: envFor(r),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });
    const event = batch();

    const res = await handler(event);
    expect(seqOf(event, (_, c) => stuck.has(c))).toHaveLength(3); // cust-5 at i = 5 and 37, cust-20 at i = 20
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: event.Records[5]!.kinesis.sequenceNumber }]);
    expect(calls).toHaveLength(FAST_RETRY.lookup!.maxAttempts);
    await expectExactly(r, event, [0, 1, 2, 3, 4]);
    expect(handler.lastSummary()).toMatchObject({ emitted: 5, failed: 45, redelivered: 45, duplicatesOnRedelivery: 0 });

    // Failed lookups are not cached (the retried batch looks them up again); answered ones are.
    expect(handler.lookup.cache.get('cust-5')).toBeUndefined();
    expect(handler.lookup.cache.get('cust-6')).not.toBeUndefined();
  });

  it('recovers from transient ProvisionedThroughputExceeded through the SDK retry strategy', async () => {
    const r = await setUp(moto, items);
    const throttle = injectThrottling(r.ddb, 2);
    const handler = createHandler({
      env: envFor(r),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });
    const event = batch();
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(throttle.attempts()).toBe(3);
    await expectExactlyOnce(r, event, []);
  });

  it('checkpoints at the first valid record when lookups keep being throttled: nothing un-enriched, no DLQ message past it', async () => {
    const r = await setUp(moto, items);
    const throttle = injectThrottling(r.ddb, 1_000);
    const handler = createHandler({
      env: envFor(r),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });
    const event = kinesisEvent([
      { data: rawEvent(0, 'cust-1') },
      { data: 'not json' },
      { data: rawEvent(2, 'cust-2') },
      { data: rawEvent(3, 'ghost-9') },
    ]);
    const res = await handler(event);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.kinesis.sequenceNumber }]);
    expect(throttle.attempts()).toBe(3); // the SDK's standard strategy: 3 attempts, then give up
    expect(await readStream(r.kinesis, r.stream)).toEqual([]);
    // the malformed record is after the checkpoint: the redelivery dead-letters it, once
    expect(await drainQueue(r.sqs, r.queueUrl)).toEqual([]);

    // the lookup works again: the redelivery (from the checkpoint) completes everything once
    throttle.stop();
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    await expectExactly(r, event, [0, 2, 3]);
    const dlq = await drainQueue(r.sqs, r.queueUrl);
    expect(dlq.map((m) => m.body.kinesis.sequence_number)).toEqual([event.Records[1]!.kinesis.sequenceNumber]);
  });

  it('reports lookup failures when the table does not exist (non-retryable)', async () => {
    const r = await setUp(moto, items);
    const handler = createHandler({
      env: envFor({ ...r, table: unique('missing') }),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });
    const event = batch(5);
    const res = await handler(event);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.kinesis.sequenceNumber }]);
    expect(await readStream(r.kinesis, r.stream)).toEqual([]);
  });
});

describe('output faults', () => {
  it('retries only the failed entries, keeps each customer in order, writes each record exactly once', async () => {
    const r = await setUp(moto, items, 1);
    const puts = recordCalls(r.kinesis, 'PutRecordsCommand');
    const attempts = new Map<string, number>();
    // fail on the first attempt; evt-17 also on the second
    injectPutRecordsFailures(r.kinesis, (b) => {
      const id = b.event_id as string;
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      return ['evt-4', 'evt-17', 'evt-18', 'evt-49'].includes(id) && (n === 1 || (n === 2 && id === 'evt-17'));
    });
    const handler = createHandler({
      env: envFor(r),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });
    const event = batch();

    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    const idsOf = (call: { Records: { Data: Uint8Array }[] }) =>
      call.Records.map((x) => (JSON.parse(Buffer.from(x.Data).toString('utf8')) as { event_id: string }).event_id);
    // the first record alone, then runs of distinct customers; failed entries are retried before the next run
    const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `evt-${from + i}`);
    expect(puts.map(idsOf)).toEqual([
      ['evt-0'],
      ids(1, 33),
      ['evt-4', 'evt-17', 'evt-18'],
      ['evt-17'],
      ids(33, 50),
      ['evt-49'],
    ]);
    await expectExactly(
      r,
      event,
      ids(0, 50).map((_, i) => i),
    );
    // one shard: the stream order is the write order; every customer's events are in input order
    const out = await readStream(r.kinesis, r.stream);
    const perCustomer = new Map<string, number[]>();
    for (const o of out)
      perCustomer.set(o.partitionKey, [
        ...(perCustomer.get(o.partitionKey) ?? []),
        Number((o.body.event_id as string).slice(4)),
      ]);
    for (const seq of perCustomer.values()) expect(seq).toEqual([...seq].sort((a, b) => a - b));
  });

  it('stops at an entry that keeps failing: checkpoint there, later calls not made, duplicates only from its own call', async () => {
    const r = await setUp(moto, items);
    const doomed = new Set(['evt-31', 'evt-8', 'evt-40']);
    const puts = recordCalls(r.kinesis, 'PutRecordsCommand');
    injectPutRecordsFailures(r.kinesis, (b) => doomed.has(b.event_id as string));
    const handler = createHandler({
      env: envFor(r),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });
    // sequence numbers of different lengths, to check numeric (not string) ordering
    const event = kinesisEvent(
      Array.from({ length: 50 }, (_, i) => ({ data: rawEvent(i, `cust-${i % 30}`) })),
      { seqStart: 9_999_999_990n, step: 1n },
    );
    const res = await handler(event);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: event.Records[8]!.kinesis.sequenceNumber }]);
    // record 0 alone, then 1..30 (30 distinct customers); 8 is retried alone, then nothing more
    expect(puts.map((p) => p.Records.length)).toEqual([1, 30, 1, 1, 1]);
    const written = Array.from({ length: 31 }, (_, i) => i).filter((i) => i !== 8);
    await expectExactly(r, event, written);
    expect(handler.lastSummary()).toMatchObject({
      emitted: 30,
      redelivered: 42,
      duplicatesOnRedelivery: 22,
      failed: 20,
    });

    // the redelivery starts at 8: it fails alone, nothing else is written again
    puts.length = 0;
    const redelivered = { Records: event.Records.slice(8) };
    expect(await handler(redelivered)).toEqual({
      batchItemFailures: [{ itemIdentifier: event.Records[8]!.kinesis.sequenceNumber }],
    });
    expect(puts.map((p) => p.Records.length)).toEqual([1, 1, 1, 1]);
    await expectExactly(r, event, written);
  });

  it('checkpoints at the first record when the output stream does not exist; no DLQ message is sent past it', async () => {
    const r = await setUp(moto, items);
    const handler = createHandler({
      env: envFor({ ...r, stream: unique('no-such-stream') }),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });
    const event = kinesisEvent([
      { data: rawEvent(0, 'cust-1') },
      { data: '{' },
      { data: rawEvent(2, 'cust-2') },
      { data: { event_id: 'x' } },
      { data: rawEvent(4, 'ghost-1') },
    ]);
    const res = await handler(event);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.kinesis.sequenceNumber }]);
    expect(await drainQueue(r.sqs, r.queueUrl)).toEqual([]);
    expect(handler.lastSummary()).toMatchObject({
      records: 5,
      emitted: 0,
      deadLettered: 0,
      failed: 5,
      redelivered: 5,
      duplicatesOnRedelivery: 0,
    });
  });

  it('checkpoints at the first malformed record when the DLQ cannot be written: nothing lost, nothing after its range written', async () => {
    const r = await setUp(moto, items);
    const missingQueue = r.queueUrl.replace(/[^/]+$/, unique('gone'));
    const handler = createHandler({
      env: envFor({ ...r, queueUrl: missingQueue }),
      dynamodb: r.ddb,
      kinesis: r.kinesis,
      sqs: r.sqs,
      retry: FAST_RETRY,
    });
    const event = kinesisEvent([
      { data: rawEvent(0, 'cust-1') },
      { data: 'garbage' },
      { data: rawEvent(2, 'cust-2') },
      { data: [1] },
    ]);
    const res = await handler(event);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]!.kinesis.sequenceNumber }]);
    // record 0 alone, then record 1 (a DLQ range of its own) fails: nothing after it is attempted
    await expectExactly(r, event, [0]);
    expect(await drainQueue(r.sqs, r.queueUrl)).toEqual([]);
    expect(handler.lastSummary()).toMatchObject({ emitted: 1, deadLettered: 0, failed: 3, duplicatesOnRedelivery: 0 });
  });
});
