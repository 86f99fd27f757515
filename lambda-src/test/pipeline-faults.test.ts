/**
 * Fault cases end to end on a real moto server: records put into a real ingest stream, read and
 * redelivered by the local event source mapping (local-aws/) with the lambda-enrichment
 * component's defaults (batch 500, window 1 s, ReportBatchItemFailures, bisect on, 3 retries,
 * max record age 3600 s, on-failure SQS queue), processed by the real handler (createHandler,
 * default in-invocation retry policies and real timers), faults injected on real responses of
 * the handler's clients. Each case asserts the exact multiset of records in the output stream,
 * the DLQ and the on-failure queue, and the test prints the fault table.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { SQSClient, ReceiveMessageCommand, DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import {
  KinesisEventSourceMapping,
  type EventSourceMappingOptions,
  type OnFailureRecord,
} from '../../local-aws/event-source-mapping';
import { buildLambda } from '../../scripts/build-lambda';
import { useMotoServer } from '../../test/support/moto';
import { deriveEventId } from '../src/records';
import { createHandler } from '../src/runtime';
import {
  bundleProcessEnv,
  createQueue,
  drainQueue,
  envFor,
  injectPutRecordsFailures,
  injectThrottling,
  profileItem,
  readStream,
  setUp,
  unique,
} from './helpers';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const moto = useMotoServer();
const N = 40;
const MALFORMED = new Set([20, 30]);
const NO_EVENT_ID = (i: number) => i % 10 === 7;

/** Raw text of input record i: customers cust-(i % 8), lossless fields, some without event_id, two malformed. */
function input(i: number): string {
  if (i === 20) return 'not json';
  if (i === 30) return '{"customer_id": 5}';
  const id = NO_EVENT_ID(i) ? '' : `"event_id":"evt-${i}",`;
  return `{${id}"customer_id":"cust-${i % 8}","event_type":"click","amount":1.10,"big":12345678901234567890,"n":${i}}`;
}

interface Row {
  case: string;
  in: number;
  outDistinct: number;
  outTotal: number;
  dlq: number;
  onFailure: number;
  onFailureRecords: number;
  duplicates: number;
  lost: number;
  /** written and also inside an on-failure range: a replay of that range writes them again */
  ahead: number;
}
const table: Row[] = [];

interface Outcome {
  /** input index → copies in the output stream (valid records) or in the DLQ (malformed ones) */
  copies: number[];
  /** input indexes covered by on-failure messages */
  covered: Set<number>;
  onFailure: OnFailureRecord[];
  invocations: KinesisEventSourceMapping['invocations'];
}

type Faults = (io: {
  kinesis: KinesisClient;
  ddb: Parameters<typeof injectThrottling>[0];
  sqs: SQSClient;
  crash: () => void;
}) => void;

/** The function under test, built from the environment the component would set. */
type FunctionFactory = (
  env: Record<string, string>,
) => Promise<{ invoke: EventSourceMappingOptions['function']; close: () => void }>;

async function run(
  name: string,
  faults: Faults,
  make?: FunctionFactory,
  envOverride: (env: Record<string, string>) => Record<string, string> = (e) => e,
): Promise<Outcome> {
  const r = await setUp(
    moto,
    Array.from({ length: 8 }, (_, i) => profileItem(i)),
    2,
  );
  const admin = {
    kinesis: new KinesisClient({ ...moto.clientConfig(), maxAttempts: 3 }),
    sqs: new SQSClient({ ...moto.clientConfig(), maxAttempts: 3 }),
  };
  const ingest = unique('ingest');
  await admin.kinesis.send(new CreateStreamCommand({ StreamName: ingest, ShardCount: 1 }));
  let arn = '';
  for (;;) {
    const s = await admin.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: ingest }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') {
      arn = s.StreamDescriptionSummary.StreamARN!;
      break;
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  const put = await admin.kinesis.send(
    new PutRecordsCommand({
      StreamName: ingest,
      Records: Array.from({ length: N }, (_, i) => ({ Data: Buffer.from(input(i)), PartitionKey: `cust-${i % 8}` })),
    }),
  );
  const seqs = put.Records!.map((x) => x.SequenceNumber!);
  const shardId = put.Records![0]!.ShardId!;
  const onFailureUrl = await createQueue(admin.sqs, unique('on-failure'));

  let crashInvocation: ((err: Error) => void) | undefined;
  faults({
    kinesis: r.kinesis,
    ddb: r.ddb,
    sqs: r.sqs,
    crash: () => crashInvocation?.(new Error('Runtime exited: crash injected mid-batch')),
  });
  const env = envOverride(envFor(r));
  const handler = createHandler({ env, dynamodb: r.ddb, kinesis: r.kinesis, sqs: r.sqs });
  const external = make ? await make(env) : undefined;
  const esm = new KinesisEventSourceMapping({
    kinesis: admin.kinesis,
    streamArn: arn,
    startingPosition: 'TRIM_HORIZON',
    batchSize: 500,
    maximumBatchingWindowInSeconds: 1,
    reportBatchItemFailures: true,
    bisectBatchOnFunctionError: true,
    maximumRetryAttempts: 3,
    maximumRecordAgeInSeconds: 3600,
    onFailure: { sqs: admin.sqs, queueUrl: onFailureUrl },
    function:
      external?.invoke ??
      ((event: KinesisStreamEvent, context) =>
        new Promise((resolve, reject) => {
          crashInvocation = reject;
          handler(event, context).then(resolve, reject);
        })),
  });
  try {
    await esm.drain();
  } finally {
    external?.close();
  }

  // Read back everything
  const idOf = (i: number) =>
    NO_EVENT_ID(i)
      ? deriveEventId({
          eventID: `${shardId}:${seqs[i]}`,
          eventSourceARN: arn,
          kinesis: { sequenceNumber: seqs[i]! },
        } as never)
      : `evt-${i}`;
  const out = await readStream(admin.kinesis, r.stream);
  const byId = new Map<string, number>();
  for (const o of out) byId.set(o.body.event_id as string, (byId.get(o.body.event_id as string) ?? 0) + 1);
  const dlq = await drainQueue(admin.sqs, r.queueUrl);
  const dlqBySeq = new Map<string, number>();
  for (const m of dlq)
    dlqBySeq.set(
      m.body.kinesis.sequence_number as string,
      (dlqBySeq.get(m.body.kinesis.sequence_number as string) ?? 0) + 1,
    );
  const onFailure: OnFailureRecord[] = [];
  for (;;) {
    const res = await admin.sqs.send(new ReceiveMessageCommand({ QueueUrl: onFailureUrl, MaxNumberOfMessages: 10 }));
    if (!res.Messages?.length) break;
    onFailure.push(...res.Messages.map((m) => JSON.parse(m.Body!) as OnFailureRecord));
    await admin.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: onFailureUrl,
        Entries: res.Messages.map((m, k) => ({ Id: String(k), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
  const index = new Map(seqs.map((s, i) => [s, i]));
  const covered = new Set<number>();
  for (const f of onFailure) {
    expect(f.KinesisBatchInfo.streamArn).toBe(arn);
    for (
      let i = index.get(f.KinesisBatchInfo.startSequenceNumber)!;
      i <= index.get(f.KinesisBatchInfo.endSequenceNumber)!;
      i++
    )
      covered.add(i);
  }
  const copies = Array.from({ length: N }, (_, i) =>
    MALFORMED.has(i) ? (dlqBySeq.get(seqs[i]!) ?? 0) : (byId.get(idOf(i)) ?? 0),
  );
  // nothing in the output that is not one of the inputs; lossless pass-through; order per customer
  expect([...byId.keys()].every((id) => Array.from({ length: N }, (_, i) => idOf(i)).includes(id))).toBe(true);
  const last = new Map<string, number>();
  for (const o of out) {
    expect(o.body.record_type).toBe('event');
    expect(o.raw).toContain(
      `"customer_id":"cust-${(o.body.n as number) % 8}","event_type":"click","amount":1.10,"big":12345678901234567890,`,
    );
    const n = o.body.n as number;
    // a duplicate may repeat an earlier event; a first copy never comes before an earlier event of its customer
    if (byId.get(o.body.event_id as string) === 1) {
      expect(n).toBeGreaterThan(last.get(o.partitionKey) ?? -1);
      last.set(o.partitionKey, n);
    }
  }
  const duplicates = copies.reduce((a, c) => a + Math.max(0, c - 1), 0);
  const lost = copies.filter((c, i) => c === 0 && !covered.has(i)).length;
  table.push({
    case: name,
    in: N,
    outDistinct: byId.size,
    outTotal: out.length,
    dlq: dlq.length,
    onFailure: onFailure.length,
    onFailureRecords: covered.size,
    duplicates,
    lost,
    ahead: copies.filter((c, i) => c > 0 && covered.has(i)).length,
  });
  return { copies, covered, onFailure, invocations: esm.invocations };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** copies[] with 1 at the given indexes, 0 elsewhere */
const once = (idx: number[]) => Array.from({ length: N }, (_, i) => (idx.includes(i) ? 1 : 0));
const all = range(0, N - 1);

afterAll(() => {
  const head = [
    'case',
    'records in',
    'out distinct/total',
    'DLQ msgs',
    'on-failure msgs (records)',
    'duplicates',
    'lost',
    'written, also in on-failure range',
  ];
  const rows = table.map((t) => [
    t.case,
    String(t.in),
    `${t.outDistinct}/${t.outTotal}`,
    String(t.dlq),
    `${t.onFailure} (${t.onFailureRecords})`,
    String(t.duplicates),
    String(t.lost),
    String(t.ahead),
  ]);
  const width = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => `| ${cells.map((x, c) => x.padEnd(width[c]!)).join(' | ')} |`;
  console.log(
    [
      'fault table (lambda-src/test/pipeline-faults.test.ts)',
      line(head),
      line(width.map((w) => '-'.repeat(w))),
      ...rows.map(line),
    ].join('\n'),
  );
});

describe('enrichment pipeline under faults (moto, local event source mapping, component defaults)', () => {
  it('no fault: every record once (output or DLQ)', async () => {
    const o = await run('no fault', () => undefined);
    expect(o.copies).toEqual(once(all));
    expect(o.onFailure).toEqual([]);
  });

  it('output throttling of entry k, transient: retried inside the invocation, each record once, order kept', async () => {
    const attempts = new Map<string, number>();
    const o = await run('PutRecords entry 12 throttled twice', ({ kinesis }) => {
      injectPutRecordsFailures(kinesis, (b) => {
        const n = (attempts.get(b.event_id as string) ?? 0) + 1;
        attempts.set(b.event_id as string, n);
        return b.event_id === 'evt-12' && n <= 2;
      });
    });
    expect(o.copies).toEqual(once(all));
    expect(o.invocations.map((i) => i.outcome)).toEqual(['success']);
  });

  it('output throttling of entry k for good: checkpoint at k, retries write nothing again, the rest to the on-failure queue', async () => {
    const o = await run('PutRecords entry 12 throttled for good', ({ kinesis }) => {
      injectPutRecordsFailures(kinesis, (b) => b.event_id === 'evt-12');
    });
    // written once: 0..11 and the rest of 12's call (13..16); 12..39 discarded to the on-failure queue
    expect(o.copies).toEqual(once([...range(0, 11), ...range(13, 16)]));
    expect([...o.covered].sort((a, b) => a - b)).toEqual(range(12, 39));
    expect(o.onFailure.map((f) => [f.requestContext.condition, f.KinesisBatchInfo.batchSize])).toEqual([
      ['RetryAttemptsExhausted', 28],
    ]);
    expect(o.invocations.map((i) => [i.outcome, i.sequenceNumbers.length])).toEqual([
      ['partial', 40],
      ['partial', 28],
      ['partial', 28],
      ['partial', 28],
    ]);
  });

  it('lookup throttling (one invocation long): the batch is redelivered from the first record, each record once', async () => {
    const o = await run('BatchGetItem throttled 3 attempts', ({ ddb }) => {
      injectThrottling(ddb, 3);
    });
    expect(o.copies).toEqual(once(all));
    expect(o.invocations.map((i) => i.outcome)).toEqual(['partial', 'success']);
  });

  it('lookup throttling for good: nothing written, the whole batch to the on-failure queue', async () => {
    const o = await run('BatchGetItem throttled for good', ({ ddb }) => {
      injectThrottling(ddb, 1_000_000);
    });
    expect(o.copies).toEqual(once([]));
    expect([...o.covered].sort((a, b) => a - b)).toEqual(all);
  });

  it('function crash mid-batch (after its 3rd PutRecords was applied): bisected, nothing lost; what it had written comes again', async () => {
    let calls = 0;
    let crashed = false;
    const o = await run('function crash after 3rd PutRecords', ({ kinesis, crash }) => {
      (kinesis as unknown as { middlewareStack: { add(mw: unknown, o: unknown): void } }).middlewareStack.add(
        (next: (a: unknown) => Promise<unknown>, context: { commandName: string }) => async (args: unknown) => {
          const res = await next(args);
          if (context.commandName === 'PutRecordsCommand' && ++calls === 3 && !crashed) {
            crashed = true;
            crash();
            return new Promise(() => undefined); // the process is gone: this call never returns
          }
          return res;
        },
        { step: 'initialize', name: 'crash-after-third-put' },
      );
    });
    // records 0..16 were written before the crash and again by the first half's invocation
    expect(o.copies).toEqual(all.map((i) => (i <= 16 ? 2 : 1)));
    expect(o.onFailure).toEqual([]);
    expect(o.invocations.map((i) => [i.outcome, i.sequenceNumbers.length])).toEqual([
      ['function_error', 40],
      ['success', 20],
      ['success', 20],
    ]);
  });

  it('DLQ unavailable for one invocation: checkpoint at the malformed record, redelivery completes, each record once', async () => {
    let failing = true;
    const o = await run('DLQ unavailable (one invocation)', ({ sqs }) => {
      (sqs as unknown as { middlewareStack: { add(mw: unknown, o: unknown): void } }).middlewareStack.add(
        (next: (a: unknown) => Promise<unknown>, context: { commandName: string }) => async (args: unknown) => {
          if (context.commandName === 'SendMessageBatchCommand' && failing) {
            failing = false;
            throw Object.assign(new Error('injected: queue unavailable'), {
              name: 'QueueDoesNotExist',
              $metadata: { httpStatusCode: 400 },
            });
          }
          return next(args);
        },
        { step: 'initialize', name: 'dlq-down-once' },
      );
    });
    expect(o.copies).toEqual(once(all));
    expect(o.invocations.map((i) => [i.outcome, i.sequenceNumbers.length])).toEqual([
      ['partial', 40],
      ['success', 20],
    ]);
  });

  it('DLQ unavailable for good: nothing after the malformed record is written, the rest goes to the on-failure queue', async () => {
    const o = await run('DLQ unavailable for good', ({ sqs }) => {
      (sqs as unknown as { middlewareStack: { add(mw: unknown, o: unknown): void } }).middlewareStack.add(
        (next: (a: unknown) => Promise<unknown>, context: { commandName: string }) => async (args: unknown) => {
          if (context.commandName === 'SendMessageBatchCommand') {
            throw Object.assign(new Error('injected: queue unavailable'), {
              name: 'QueueDoesNotExist',
              $metadata: { httpStatusCode: 400 },
            });
          }
          return next(args);
        },
        { step: 'initialize', name: 'dlq-down' },
      );
    });
    expect(o.copies).toEqual(once(range(0, 19)));
    expect([...o.covered].sort((a, b) => a - b)).toEqual(range(20, 39));
  });
});

/**
 * The esbuild bundle (dist/index.js) in its own `node` process, as the Lambda runtime would run
 * it: environment from the component's contract, AWS_ENDPOINT_URL = moto; one JSON line in per
 * invocation, one out. No fault injection is possible inside it, so its cases use real faults.
 */
describe('the bundle in its own node process, driven by the local event source mapping', () => {
  let dir = '';
  let indexJs = '';
  const RUNTIME = `
const { handler } = require(process.argv[1]); // node -e CODE <index.js>: argv[1] is index.js
const rl = require('readline').createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const { id, event, timeoutMs } = JSON.parse(line);
  const deadline = Date.now() + timeoutMs;
  const context = { functionName: 'enrichment', awsRequestId: String(id), getRemainingTimeInMillis: () => deadline - Date.now() };
  try {
    const result = await handler(event, context);
    process.stdout.write('RESULT ' + JSON.stringify({ id, result }) + '\\n');
  } catch (err) {
    process.stdout.write('RESULT ' + JSON.stringify({ id, error: String(err && err.message || err) }) + '\\n');
  }
});`;

  const bundle: FunctionFactory = async (env) => {
    const child = spawn(process.execPath, ['-e', RUNTIME, indexJs], {
      env: {
        ...bundleProcessEnv(moto.endpoint),
        POWERTOOLS_METRICS_DISABLED: 'true',
        ...env,
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('RESULT ')) return;
      const msg = JSON.parse(line.slice(7)) as { id: number; result?: unknown; error?: string };
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error !== undefined) w?.reject(new Error(msg.error));
      else w?.resolve(msg.result);
    });
    let exited: string | undefined;
    child.on('exit', (code) => {
      exited = `Runtime exited with ${code}`;
      for (const w of waiting.values()) w.reject(new Error(exited));
      waiting.clear();
    });
    let id = 0;
    return {
      invoke: (event, context) =>
        new Promise((resolve, reject) => {
          if (exited !== undefined) return reject(new Error(exited));
          const n = ++id;
          waiting.set(n, { resolve, reject });
          child.stdin!.write(`${JSON.stringify({ id: n, event, timeoutMs: context.getRemainingTimeInMillis() })}\n`);
        }),
      close: () => child.kill('SIGTERM'),
    };
  };

  it('no fault: every record once (output or DLQ)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'enrichment-bundle-'));
    indexJs = (await buildLambda(dir)).indexJs;
    const o = await run('bundle: no fault', () => undefined, bundle);
    expect(o.copies).toEqual(once(all));
    expect(o.onFailure).toEqual([]);
  }, 120_000);

  it('DLQ missing (a real fault: the queue does not exist): nothing after the malformed record written, the rest to the on-failure queue', async () => {
    const o = await run(
      'bundle: DLQ queue missing',
      () => undefined,
      bundle,
      (env) => ({ ...env, DLQ_URL: env.DLQ_URL!.replace(/[^/]+$/, unique('missing')) }),
    );
    expect(o.copies).toEqual(once(range(0, 19)));
    expect([...o.covered].sort((a, b) => a - b)).toEqual(range(20, 39));
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
