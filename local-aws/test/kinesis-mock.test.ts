/**
 * The local event source mapping against the other Kinesis emulator, kinesis-mock (npm
 * `kinesis-local`, dev dependency), started here on 127.0.0.1: batches in order and the
 * ReportBatchItemFailures / bisect / retry sequence, as against moto.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../test/support/paths';
import { KinesisEventSourceMapping } from '../event-source-mapping';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });

let child: ChildProcess | undefined;
let kinesis: KinesisClient;
let n = 0;

beforeAll(async () => {
  const [plain, tls] = [await freePort(), await freePort()];
  child = spawn(process.execPath, [join(REPO_ROOT, 'node_modules', 'kinesis-local', 'main.js')], {
    cwd: join(REPO_ROOT, 'node_modules', 'kinesis-local'),
    env: { ...process.env, KINESIS_MOCK_PLAIN_PORT: String(plain), KINESIS_MOCK_TLS_PORT: String(tls), LOG_LEVEL: 'WARN', CREATE_STREAM_DURATION: '0ms' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  kinesis = new KinesisClient({
    endpoint: `http://127.0.0.1:${plain}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 3,
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'probe' }));
      break;
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') break;
      if (Date.now() > deadline) throw new Error(`kinesis-mock did not start: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}, 90_000);

afterAll(() => {
  child?.kill('SIGTERM');
});

async function stream(): Promise<{ name: string; arn: string }> {
  const name = `esm-km-${++n}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  for (;;) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return { name, arn: s.StreamDescriptionSummary.StreamARN! };
    await new Promise((r) => setTimeout(r, 50));
  }
}

const labels = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `r${from + i}`);
const dataOf = (e: KinesisStreamEvent) => e.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString());

describe('local Kinesis event source mapping (kinesis-mock)', () => {
  it('batches in sequence order; ReportBatchItemFailures resumes from the lowest item; bisect isolates a crashing record', async () => {
    const s = await stream();
    await kinesis.send(new PutRecordsCommand({ StreamName: s.name, Records: labels(0, 8).map((l) => ({ Data: Buffer.from(l), PartitionKey: 'k' })) }));
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
    expect(calls).toEqual([labels(0, 8), labels(0, 4), ['r3'], labels(4, 8), ['r4', 'r5'], ['r6', 'r7'], ['r6'], ['r7']]);
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
