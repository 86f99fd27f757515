/**
 * The local Kinesis event source mapping on its own, against a real moto server, with tiny test
 * functions (not the enrichment handler): each documented behaviour, as the exact sequence of
 * invocations it produces.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { KinesisStreamEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { useMotoServer } from '../../test/support/moto';
import {
  KinesisEventSourceMapping,
  type EventSourceMappingOptions,
  type OnFailureRecord,
} from '../event-source-mapping';

const moto = useMotoServer();
let kinesis: KinesisClient;
let sqs: SQSClient;
let n = 0;

beforeAll(() => {
  kinesis = new KinesisClient({ ...moto.clientConfig(), maxAttempts: 3 });
  sqs = new SQSClient({ ...moto.clientConfig(), maxAttempts: 3 });
});

async function stream(shards = 1): Promise<{ name: string; arn: string }> {
  const name = `esm-${process.pid}-${++n}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (;;) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE')
      return { name, arn: s.StreamDescriptionSummary.StreamARN! };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Puts records `r0..` (data = its label) with the given partition keys; returns sequence numbers by label. */
async function put(
  name: string,
  labels: string[],
  key: (label: string) => string = () => 'k',
): Promise<Map<string, string>> {
  const res = await kinesis.send(
    new PutRecordsCommand({
      StreamName: name,
      Records: labels.map((l) => ({ Data: Buffer.from(l), PartitionKey: key(l) })),
    }),
  );
  expect(res.FailedRecordCount ?? 0).toBe(0);
  return new Map(labels.map((l, i) => [l, res.Records![i]!.SequenceNumber!]));
}

const labels = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `r${from + i}`);
const dataOf = (e: KinesisStreamEvent) => e.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString());

/** A test function that records the labels of each batch and answers with `respond`. */
function fn(respond: (batch: string[], event: KinesisStreamEvent, call: number) => unknown) {
  const calls: string[][] = [];
  const f = async (event: KinesisStreamEvent) => {
    const batch = dataOf(event);
    calls.push(batch);
    return respond(batch, event, calls.length);
  };
  return { calls, f };
}

function esm(arn: string, f: EventSourceMappingOptions['function'], opts: Partial<EventSourceMappingOptions> = {}) {
  return new KinesisEventSourceMapping({
    kinesis,
    streamArn: arn,
    function: f,
    startingPosition: 'TRIM_HORIZON',
    ...opts,
  });
}

const failAt = (event: KinesisStreamEvent, ...i: number[]) => ({
  batchItemFailures: i.map((k) => ({ itemIdentifier: event.Records[k]!.kinesis.sequenceNumber })),
});

describe('local Kinesis event source mapping (moto)', () => {
  it('delivers batches of batchSize in sequence order, in the event shape Lambda sends', async () => {
    const s = await stream();
    const seqs = await put(s.name, labels(0, 7), (l) => `pk-${l}`);
    const events: KinesisStreamEvent[] = [];
    const m = esm(s.arn, async (e) => void events.push(e), { batchSize: 3 });
    await m.drain();
    expect(events.map(dataOf)).toEqual([labels(0, 3), labels(3, 6), labels(6, 7)]);
    const r = events[0]!.Records[1]!;
    expect(Object.keys(r).sort()).toEqual([
      'awsRegion',
      'eventID',
      'eventName',
      'eventSource',
      'eventSourceARN',
      'eventVersion',
      'invokeIdentityArn',
      'kinesis',
    ]);
    expect(r).toMatchObject({
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `shardId-000000000000:${seqs.get('r1')}`,
      eventName: 'aws:kinesis:record',
      awsRegion: 'us-east-1',
      eventSourceARN: s.arn,
      invokeIdentityArn: expect.stringMatching(/^arn:aws:iam::\d{12}:role\//),
    });
    expect(r.kinesis).toEqual({
      kinesisSchemaVersion: '1.0',
      partitionKey: 'pk-r1',
      sequenceNumber: seqs.get('r1'),
      data: Buffer.from('r1').toString('base64'),
      approximateArrivalTimestamp: expect.any(Number),
    });
    expect(Math.abs(r.kinesis.approximateArrivalTimestamp - Date.now() / 1000)).toBeLessThan(120);
    // drained: nothing more to deliver
    await m.drain();
    expect(events).toHaveLength(3);
  });

  it('LATEST starts after the records already in the stream; TRIM_HORIZON from the oldest', async () => {
    const s = await stream();
    await put(s.name, ['old']);
    const latest = fn(() => undefined);
    const m = esm(s.arn, latest.f, { startingPosition: 'LATEST' });
    await m.init();
    await put(s.name, ['new']);
    await m.drain();
    expect(latest.calls).toEqual([['new']]);
    const horizon = fn(() => undefined);
    await esm(s.arn, horizon.f).drain();
    expect(horizon.calls).toEqual([['old', 'new']]);
  });

  it('ReportBatchItemFailures: resumes from the lowest reported record; empty list, null list, null response = done', async () => {
    const s = await stream();
    await put(s.name, labels(0, 10));
    const t = fn((_batch, e, call) =>
      call === 1
        ? failAt(e, 4, 2, 3)
        : call === 2
          ? { batchItemFailures: [] }
          : call === 3
            ? { batchItemFailures: null }
            : null,
    );
    const m = esm(s.arn, t.f, { batchSize: 5, reportBatchItemFailures: true, maximumRetryAttempts: 3 });
    await m.drain();
    expect(t.calls).toEqual([labels(0, 5), labels(2, 5), labels(5, 10)]);
    expect(m.invocations.map((i) => [i.outcome, i.retry])).toEqual([
      ['partial', 0],
      ['success', 1],
      ['success', 0],
    ]);
  });

  it('ReportBatchItemFailures: an invalid item (empty, missing, unknown sequence number) fails the whole batch', async () => {
    const s = await stream();
    await put(s.name, labels(0, 3));
    const answers = [
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{ id: 'x' }] },
      { batchItemFailures: [{ itemIdentifier: '49590338271490256608559692538361571095921575989136588898' }] },
      {},
    ];
    const t = fn((_, __, call) => answers[call - 1]);
    const m = esm(s.arn, t.f, { batchSize: 10, reportBatchItemFailures: true, maximumRetryAttempts: 5 });
    await m.drain();
    expect(t.calls).toEqual([labels(0, 3), labels(0, 3), labels(0, 3), labels(0, 3)]);
    expect(m.invocations.map((i) => i.outcome)).toEqual([
      'invalid_response',
      'invalid_response',
      'invalid_response',
      'success',
    ]);
  });

  it('without ReportBatchItemFailures a reported failure is ignored (whole batch done)', async () => {
    const s = await stream();
    await put(s.name, labels(0, 3));
    const t = fn((_, e) => failAt(e, 0));
    await esm(s.arn, t.f, { batchSize: 10 }).drain();
    expect(t.calls).toEqual([labels(0, 3)]);
  });

  it('bisects on function error without using retries; the bad record alone exhausts them and goes to the on-failure queue', async () => {
    const s = await stream();
    const seqs = await put(s.name, labels(0, 8));
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `on-failure-${++n}` }))).QueueUrl!;
    const t = fn((batch) => {
      if (batch.includes('r5')) throw new Error('boom');
      return undefined;
    });
    const m = esm(s.arn, t.f, {
      batchSize: 8,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 1,
      reportBatchItemFailures: true,
      onFailure: { sqs, queueUrl },
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test-fn',
    });
    await m.drain();
    expect(t.calls).toEqual([
      labels(0, 8),
      labels(0, 4),
      labels(4, 8),
      ['r4', 'r5'],
      ['r4'],
      ['r5'],
      ['r5'],
      ['r6', 'r7'],
    ]);
    const msgs = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    expect(msgs.Messages).toHaveLength(1);
    const body = JSON.parse(msgs.Messages![0]!.Body!) as OnFailureRecord;
    expect(Object.keys(body).sort()).toEqual([
      'KinesisBatchInfo',
      'requestContext',
      'responseContext',
      'timestamp',
      'version',
    ]);
    expect(body).toEqual({
      requestContext: {
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test-fn',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 5,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: seqs.get('r5'),
        endSequenceNumber: seqs.get('r5'),
        approximateArrivalOfFirstRecord: expect.stringMatching(/Z$/),
        approximateArrivalOfLastRecord: expect.stringMatching(/Z$/),
        batchSize: 1,
        streamArn: s.arn,
      },
    });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: msgs.Messages![0]!.ReceiptHandle! }));
  });

  it('without bisect, retries the whole batch MaximumRetryAttempts times, then discards it to the destination', async () => {
    const s = await stream();
    const seqs = await put(s.name, labels(0, 4));
    const t = fn(() => {
      throw new Error('always');
    });
    const m = esm(s.arn, t.f, { batchSize: 10, maximumRetryAttempts: 2 });
    await m.drain();
    expect(t.calls).toEqual([labels(0, 4), labels(0, 4), labels(0, 4)]);
    expect(
      m.onFailureRecords.map((r) => [
        r.requestContext.condition,
        r.requestContext.approximateInvokeCount,
        r.KinesisBatchInfo.batchSize,
      ]),
    ).toEqual([['RetryAttemptsExhausted', 3, 4]]);
    expect(m.onFailureRecords[0]!.KinesisBatchInfo).toMatchObject({
      startSequenceNumber: seqs.get('r0'),
      endSequenceNumber: seqs.get('r3'),
    });
  });

  it('a partial failure that persists uses up the retries on the remaining records, then discards only those', async () => {
    const s = await stream();
    const seqs = await put(s.name, labels(0, 6));
    const t = fn((batch, e) => (batch.includes('r2') ? failAt(e, batch.indexOf('r2')) : undefined));
    const m = esm(s.arn, t.f, {
      batchSize: 6,
      reportBatchItemFailures: true,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 2,
    });
    await m.drain();
    expect(t.calls).toEqual([labels(0, 6), labels(2, 6), labels(2, 6)]);
    expect(m.onFailureRecords.map((r) => r.KinesisBatchInfo)).toMatchObject([
      { startSequenceNumber: seqs.get('r2'), endSequenceNumber: seqs.get('r5'), batchSize: 4 },
    ]);
    expect(m.onFailureRecords[0]!.responseContext.functionError).toBeNull();
  });

  it('discards records older than MaximumRecordAgeInSeconds (a prefix of the batch) before invoking', async () => {
    const s = await stream();
    await put(s.name, ['old0', 'old1']);
    await new Promise((r) => setTimeout(r, 1_500));
    await put(s.name, ['new0', 'new1', 'new2']);
    // read the arrival times moto gave the records
    const arrivals: number[] = [];
    await new KinesisEventSourceMapping({
      kinesis,
      streamArn: s.arn,
      startingPosition: 'TRIM_HORIZON',
      batchSize: 10,
      function: async (e) => void arrivals.push(...e.Records.map((r) => r.kinesis.approximateArrivalTimestamp * 1000)),
    }).drain();
    // the clock: 3600 s after the old records arrived, plus half the gap
    const now = arrivals[1]! + 3_600_000 + (arrivals[2]! - arrivals[1]!) / 2;
    const t = fn(() => undefined);
    const m = esm(s.arn, t.f, { batchSize: 10, maximumRecordAgeInSeconds: 3_600, now: () => now });
    await m.drain();
    expect(t.calls).toEqual([['new0', 'new1', 'new2']]);
    expect(
      m.onFailureRecords.map((r) => [
        r.requestContext.condition,
        r.requestContext.approximateInvokeCount,
        r.KinesisBatchInfo.batchSize,
      ]),
    ).toEqual([['RecordAgeExceeded', 0, 2]]);
  });

  it('batching window: gathers records until the window passes; without one, invokes with what one read returns', async () => {
    const s = await stream();
    await put(s.name, labels(0, 3));
    const t = fn(() => undefined);
    const m = esm(s.arn, t.f, { batchSize: 100, maximumBatchingWindowInSeconds: 2 });
    const running = m.drain();
    await new Promise((r) => setTimeout(r, 400));
    await put(s.name, labels(3, 5));
    await running;
    expect(t.calls).toEqual([labels(0, 5)]);

    const s2 = await stream();
    await put(s2.name, labels(0, 3));
    const t2 = fn(() => undefined);
    const m2 = esm(s2.arn, t2.f, { batchSize: 100 });
    await m2.drain();
    await put(s2.name, labels(3, 5));
    await m2.drain();
    expect(t2.calls).toEqual([labels(0, 3), labels(3, 5)]);
  });

  it('runs one invocation at a time per shard, shards in parallel', async () => {
    const s = await stream(2);
    // keys that land on both shards
    await put(s.name, labels(0, 40), (l) => `key-${l}`);
    const active = new Map<string, number>();
    let maxPerShard = 0;
    let maxOverall = 0;
    const perShard = new Map<string, string[]>();
    const m = esm(
      s.arn,
      async (e) => {
        const shard = e.Records[0]!.eventID.split(':')[0]!;
        active.set(shard, (active.get(shard) ?? 0) + 1);
        maxPerShard = Math.max(maxPerShard, active.get(shard)!);
        maxOverall = Math.max(
          maxOverall,
          [...active.values()].reduce((a, b) => a + b, 0),
        );
        perShard.set(shard, [...(perShard.get(shard) ?? []), ...e.Records.map((r) => r.kinesis.sequenceNumber)]);
        await new Promise((r) => setTimeout(r, 30));
        active.set(shard, active.get(shard)! - 1);
      },
      { batchSize: 4 },
    );
    await m.drain();
    expect(perShard.size).toBe(2);
    expect(maxPerShard).toBe(1);
    expect(maxOverall).toBe(2);
    for (const seqs of perShard.values())
      expect(seqs).toEqual([...seqs].sort((a, b) => a.length - b.length || (a < b ? -1 : 1)));
    expect([...perShard.values()].flat()).toHaveLength(40);
  });

  it('a function that outlives its timeout is a function error', async () => {
    const s = await stream();
    await put(s.name, ['slow']);
    let calls = 0;
    const m = esm(
      s.arn,
      async (_e, ctx) => {
        calls++;
        expect(ctx.getRemainingTimeInMillis()).toBeGreaterThan(0);
        if (calls === 1) await new Promise((r) => setTimeout(r, 400));
      },
      { functionTimeoutMs: 150, maximumRetryAttempts: 1 },
    );
    await m.drain();
    expect(m.invocations.map((i) => i.outcome)).toEqual(['function_error', 'success']);
    expect(m.invocations[0]!.error).toMatch(/timed out after 150 ms/);
  });

  it('cuts a batch to stay under the 6 MB invocation payload', async () => {
    const s = await stream();
    const big = 'x'.repeat(900 * 1024);
    for (let i = 0; i < 3; i++) {
      await kinesis.send(
        new PutRecordsCommand({
          StreamName: s.name,
          Records: [0, 1, 2].map((j) => ({ Data: Buffer.from(`${i * 3 + j}${big}`), PartitionKey: 'k' })),
        }),
      );
    }
    const sizes: number[] = [];
    await esm(s.arn, async (e) => void sizes.push(e.Records.length), { batchSize: 100 }).drain();
    // 900 KiB of data is 1.2 MB of base64: five records fit in 6 MiB, a sixth would not
    expect(sizes).toEqual([5, 4]);
  });

  it('rejects out-of-range settings with a message naming them', () => {
    const base = {
      kinesis,
      streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/x',
      function: async () => undefined,
    };
    expect(() => new KinesisEventSourceMapping({ ...base, batchSize: 0 })).toThrow(
      'batchSize=0 is invalid: must be an integer between 1 and 10000',
    );
    expect(() => new KinesisEventSourceMapping({ ...base, maximumRecordAgeInSeconds: 30 })).toThrow(
      /maximumRecordAgeInSeconds=30 .* between 60 and 604800 or -1/,
    );
    expect(() => new KinesisEventSourceMapping({ ...base, streamArn: 'x' })).toThrow(/streamArn="x" is invalid/);
  });
});
