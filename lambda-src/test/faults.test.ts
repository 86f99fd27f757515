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
  const expected = event.Records.filter((rec) => !failed.has(rec.kinesis.sequenceNumber)).map(
    (rec) => (JSON.parse(Buffer.from(rec.kinesis.data, 'base64').toString('utf8')) as { event_id: string }).event_id,
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
    const handler = createHandler({ env: envFor(r), dynamodb: r.ddb, kinesis: r.kinesis, sqs: r.sqs, retry: FAST_RETRY });
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

  it('reports the records of customers still unprocessed after the bounded retries, emits the rest once', async () => {
    const r = await setUp(moto, items);
    const calls = recordCalls(r.ddb, 'BatchGetItemCommand');
    const stuck = new Set(['cust-5', 'cust-20']);
    injectUnprocessedKeys(r.ddb, (pk) => stuck.has(pk));
    const handler = createHandler({ env: envFor(r), dynamodb: r.ddb, kinesis: r.kinesis, sqs: r.sqs, retry: FAST_RETRY });
    const event = batch();

    const res = await handler(event);
    const expected = seqOf(event, (_, c) => stuck.has(c));
    expect(expected).toHaveLength(3); // cust-5 at i = 5 and 37, cust-20 at i = 20
    expect(res.batchItemFailures).toEqual(expected.map((itemIdentifier) => ({ itemIdentifier })));
    expect(calls).toHaveLength(FAST_RETRY.lookup!.maxAttempts);
    await expectExactlyOnce(r, event, expected);

    // Failed lookups are not cached (the retried batch looks them up again); answered ones are.
    expect(handler.lookup.cache.get('cust-5')).toBeUndefined();
    expect(handler.lookup.cache.get('cust-6')).not.toBeUndefined();
  });

  it('recovers from transient ProvisionedThroughputExceeded through the SDK retry strategy', async () => {
    const r = await setUp(moto, items);
    const throttle = injectThrottling(r.ddb, 2);
    const handler = createHandler({ env: envFor(r), dynamodb: r.ddb, kinesis: r.kinesis, sqs: r.sqs, retry: FAST_RETRY });
    const event = batch();
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(throttle.attempts()).toBe(3);
    await expectExactlyOnce(r, event, []);
  });

  it('reports every record whose lookup kept being throttled, emits nothing un-enriched, DLQ still works', async () => {
    const r = await setUp(moto, items);
    const throttle = injectThrottling(r.ddb, 1_000);
    const handler = createHandler({ env: envFor(r), dynamodb: r.ddb, kinesis: r.kinesis, sqs: r.sqs, retry: FAST_RETRY });
    const event = kinesisEvent([
      { data: rawEvent(0, 'cust-1') },
      { data: 'not json' },
      { data: rawEvent(2, 'cust-2') },
      { data: rawEvent(3, 'ghost-9') },
    ]);
    const res = await handler(event);
    const valid = [0, 2, 3].map((i) => event.Records[i]!.kinesis.sequenceNumber);
    expect(res.batchItemFailures).toEqual(valid.map((itemIdentifier) => ({ itemIdentifier })));
    expect(throttle.attempts()).toBe(3); // the SDK's standard strategy: 3 attempts, then give up
    expect(await readStream(r.kinesis, r.stream)).toEqual([]);
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
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(event.Records.map((x) => x.kinesis.sequenceNumber));
    expect(await readStream(r.kinesis, r.stream)).toEqual([]);
  });
});

describe('output faults', () => {
  it('retries only the failed PutRecords entries and writes each record exactly once', async () => {
    const r = await setUp(moto, items);
    const puts = recordCalls(r.kinesis, 'PutRecordsCommand');
    const flaky = new Set(['evt-4', 'evt-17', 'evt-18', 'evt-49']);
    // fail on the first attempt; evt-17 also on the second
    injectPutRecordsFailures(r.kinesis, (b, call) => flaky.has(b.event_id as string) && (call === 1 || (call === 2 && b.event_id === 'evt-17')));
    const handler = createHandler({ env: envFor(r), dynamodb: r.ddb, kinesis: r.kinesis, sqs: r.sqs, retry: FAST_RETRY });
    const event = batch();

    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    const idsOf = (call: { Records: { Data: Uint8Array }[] }) =>
      call.Records.map((x) => (JSON.parse(Buffer.from(x.Data).toString('utf8')) as { event_id: string }).event_id);
    expect(puts.map(idsOf)).toEqual([
      event.Records.map((_, i) => `evt-${i}`),
      ['evt-4', 'evt-17', 'evt-18', 'evt-49'],
      ['evt-17'],
    ]);
    await expectExactlyOnce(r, event, []);
  });

  it('reports entries that keep failing, sorted by sequence number, and emits the rest exactly once', async () => {
    const r = await setUp(moto, items);
    const doomed = new Set(['evt-31', 'evt-8', 'evt-40']);
    const fault = injectPutRecordsFailures(r.kinesis, (b) => doomed.has(b.event_id as string));
    const handler = createHandler({ env: envFor(r), dynamodb: r.ddb, kinesis: r.kinesis, sqs: r.sqs, retry: FAST_RETRY });
    // sequence numbers of different lengths, to check numeric (not string) ordering
    const event = kinesisEvent(
      Array.from({ length: 50 }, (_, i) => ({ data: rawEvent(i, `cust-${i % 30}`) })),
      { seqStart: 9_999_999_990n, step: 1n },
    );
    const res = await handler(event);
    const expected = [8, 31, 40].map((i) => event.Records[i]!.kinesis.sequenceNumber);
    expect(expected[0]!.length).toBeLessThan(expected[1]!.length);
    expect(res.batchItemFailures).toEqual(expected.map((itemIdentifier) => ({ itemIdentifier })));
    expect(fault.calls()).toBe(FAST_RETRY.put!.maxAttempts);
    await expectExactlyOnce(r, event, expected);
  });

  it('reports every valid record when the output stream does not exist; malformed ones still reach the DLQ', async () => {
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
    expect(res.batchItemFailures).toEqual([0, 2, 4].map((i) => ({ itemIdentifier: event.Records[i]!.kinesis.sequenceNumber })));
    const dlq = await drainQueue(r.sqs, r.queueUrl);
    expect(dlq.map((m) => m.body.reason).sort()).toEqual(['invalid_json', 'missing_customer_id']);
    expect(handler.lastSummary()).toMatchObject({ records: 5, emitted: 0, deadLettered: 2, failed: 3 });
  });

  it('reports malformed records as failures when the DLQ cannot be written', async () => {
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
    expect(res.batchItemFailures).toEqual([1, 3].map((i) => ({ itemIdentifier: event.Records[i]!.kinesis.sequenceNumber })));
    await expectExactlyOnce(r, event, [1, 3].map((i) => event.Records[i]!.kinesis.sequenceNumber));
    expect(await drainQueue(r.sqs, r.queueUrl)).toEqual([]);
  });
});
