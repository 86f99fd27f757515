/**
 * The local event source mapping against the other Kinesis emulator, kinesis-mock (npm
 * `kinesis-local`, dev dependency), started here on 127.0.0.1: batches in order and the
 * ReportBatchItemFailures / bisect / retry sequence, as against moto.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKinesisMock, type KinesisMock } from '../../test/support/kinesis-mock';
import { KinesisEventSourceMapping } from '../event-source-mapping';

let km: KinesisMock | undefined;
let kinesis: KinesisClient;
let n = 0;

beforeAll(async () => {
  km = await startKinesisMock();
  kinesis = km.client;
}, 90_000);

afterAll(() => {
  km?.stop();
});

async function stream(): Promise<{ name: string; arn: string }> {
  const name = `esm-km-${++n}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  for (;;) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE')
      return { name, arn: s.StreamDescriptionSummary.StreamARN! };
    await new Promise((r) => setTimeout(r, 50));
  }
}

const labels = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `r${from + i}`);
const dataOf = (e: KinesisStreamEvent) => e.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString());

describe('local Kinesis event source mapping (kinesis-mock)', () => {
  it('batches in sequence order; ReportBatchItemFailures resumes from the lowest item; bisect isolates a crashing record', async () => {
    const s = await stream();
    await kinesis.send(
      new PutRecordsCommand({
        StreamName: s.name,
        Records: labels(0, 8).map((l) => ({ Data: Buffer.from(l), PartitionKey: 'k' })),
      }),
    );
    const calls: string[][] = [];
    let reported = false;
    const m = new KinesisEventSourceMapping({
      kinesis,
      streamArn: s.arn,
      startingPosition: 'TRIM_HORIZON',
      batchSize: 8,
      reportBatchItemFailures: true,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 1,
      function: async (e) => {
        const batch = dataOf(e);
        calls.push(batch);
        if (batch.includes('r6') && batch.length > 1) throw new Error('crash');
        if (!reported && batch[0] === 'r0') {
          reported = true;
          return { batchItemFailures: [{ itemIdentifier: e.Records[3]!.kinesis.sequenceNumber }] };
        }
        return { batchItemFailures: [] };
      },
    });
    await m.drain();
    // 0..7 crashes (holds r6) → halves; 0..3 reports r3 → resume at r3; 4..7 crashes → 4,5 | 6,7 → 6 | 7
    expect(calls).toEqual([
      labels(0, 8),
      labels(0, 4),
      ['r3'],
      labels(4, 8),
      ['r4', 'r5'],
      ['r6', 'r7'],
      ['r6'],
      ['r7'],
    ]);
    expect(m.invocations.map((i) => i.outcome)).toEqual([
      'function_error',
      'partial',
      'success',
      'function_error',
      'success',
      'function_error',
      'success',
      'success',
    ]);
    expect(m.onFailureRecords).toEqual([]);
    expect(m.invocations[0]!.sequenceNumbers).toHaveLength(8);
  });
});
