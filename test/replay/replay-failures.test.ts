/**
 * `atmos replay-failures -s local` against moto: an outage, the on-failure messages the event
 * source mapping would have written, then the replay through the built handler bundle
 * (--mode local: moto cannot run Lambda code without Docker), and exactly the expected output.
 *
 * Resources carry the local stack's names (from `atmos describe component`), so the real Atmos
 * command finds them by the naming convention, and the local stack's env section points the
 * script at this file's moto server (LOCAL_AWS_ENDPOINT_URL). The function exists in moto
 * (CreateFunction with the bundle and the synthesized environment), so the script reads its
 * environment and role with lambda:GetFunctionConfiguration as it would in AWS.
 *
 * The mapping's side is emulated here the way AWS documents it: batches of 10 from each shard,
 * the real handler (lambda-src) invoked with them, a batch reported as failed retried
 * maximum_retry_attempts (2 here) times from the lowest reported record, then one on-failure
 * message per batch (AWS's shape: requestContext, responseContext, version, timestamp,
 * KinesisBatchInfo) in the failures queue. The outage is the output stream being gone.
 *
 * During the replay a fault proxy between the script and moto refuses one record's PutRecords
 * entry 7 times (more than the handler's 6 attempts), on the real request: the entry is taken
 * out before moto sees it and a ProvisionedThroughputExceeded entry is put back into moto's real
 * response. The handler reports that record; the replay must invoke again from it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordCommand,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLambda, type LambdaBuild } from '../../scripts/build-lambda';
import { atmosEnv } from '../../scripts/lib/atmos';
import { createHandler } from '../../lambda-src/src/runtime';
import {
  clients,
  createQueue,
  createStream,
  createTable,
  drainQueue,
  expectedCustomer,
  FAST_RETRY,
  profileItem,
  readStream,
  seedTable,
} from '../../lambda-src/test/helpers';
import { eventRecord, type KinesisBatchInfo, type OnFailureRecord } from '../../scripts/replay-failures';
import { ATMOS_BIN, atmosJsonSync } from '../support/atmos';
import { REPO_ROOT } from '../support/paths';
import { useMotoServer, TEST_REGION } from '../support/moto';
import { readComponent } from '../support/synth';
import { TerraformEvaluator, type Value } from '../support/terraform-expr';

// The emulated mapping's handler runs in this process: no EMF documents on the test output.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const ACCOUNT = '123456789012';
const moto = useMotoServer();
const scratch = mkdtempSync(join(tmpdir(), 'replay-test-'));

const described = atmosJsonSync<{ vars: Record<string, Value> }>([
  'describe',
  'component',
  'lambda-enrichment',
  '-s',
  'local',
  '--format',
  'json',
]);
const vars = described.vars;
const label = ['namespace', 'environment', 'stage', 'name'].map((k) => vars[k]).join('-');
const NAMES = {
  fn: label,
  source: String(vars.source_stream_name),
  output: String(vars.destination_stream_name),
  table: String(vars.lookup_table_name),
  dlq: `${label}-dlq`,
  failures: `${label}-failures`,
};
const tf = readComponent('lambda-enrichment');
const roleArn = `arn:aws:iam::${ACCOUNT}:role/${label}`;
const streamArn = `arn:aws:kinesis:${TEST_REGION}:${ACCOUNT}:stream/${NAMES.source}`;

/** 40 events of 8 customers (5 each, in order), cust-6 and cust-7 unknown to the lookup table. */
const EVENTS = Array.from({ length: 40 }, (_, i) => ({
  event_id: `e-${String(i).padStart(2, '0')}`,
  customer_id: `cust-${i % 8}`,
  event_type: 'click',
  timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
}));
const BATCH = 10;
const RETRIES = 2;

// ------------------------------------------------------------------------ fault proxy

interface Proxy {
  endpoint: string;
  /** Refuse the PutRecords entry of the record with this event_id, this many times. */
  fault: { eventId: string; times: number } | undefined;
  injected: number;
  close(): Promise<void>;
}

/** Bodies are re-sent whole with their own length: framing headers of the other hop must go. */
function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = { ...headers };
  for (const h of ['transfer-encoding', 'connection', 'keep-alive', 'content-length', 'expect']) delete out[h];
  return out;
}

async function faultProxy(target: string): Promise<Proxy> {
  const upstream = new URL(target);
  const proxy: Proxy = { endpoint: '', fault: undefined, injected: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      let dropped = -1;
      const fault = proxy.fault;
      if (req.headers['x-amz-target'] === 'Kinesis_20131202.PutRecords' && fault && proxy.injected < fault.times) {
        const doc = JSON.parse(body.toString('utf8')) as { StreamName?: string; Records: { Data: string }[] };
        const index = doc.Records.findIndex((r) =>
          Buffer.from(r.Data, 'base64').toString('utf8').includes(`"event_id":"${fault.eventId}"`),
        );
        if (doc.StreamName === NAMES.output && index >= 0) {
          dropped = index;
          proxy.injected++;
          doc.Records.splice(index, 1);
          body = Buffer.from(JSON.stringify(doc));
        }
      }
      const refused = {
        ErrorCode: 'ProvisionedThroughputExceededException',
        ErrorMessage: 'Rate exceeded for shard (fault proxy)',
      };
      const answer = (status: number, headers: http.IncomingHttpHeaders, payload: Buffer) => {
        let out = payload;
        if (dropped >= 0 && status === 200) {
          const doc = JSON.parse(payload.toString('utf8') || '{"FailedRecordCount":0,"Records":[]}') as {
            FailedRecordCount: number;
            Records: unknown[];
          };
          doc.Records.splice(dropped, 0, refused);
          doc.FailedRecordCount += 1;
          out = Buffer.from(JSON.stringify(doc));
        }
        res.writeHead(status, { ...withoutHopByHop(headers), 'content-length': String(out.length) });
        res.end(out);
      };
      if (dropped >= 0 && body.toString('utf8').includes('"Records":[]')) {
        // The refused entry was the only one: moto would reject an empty PutRecords.
        answer(
          200,
          { 'content-type': 'application/x-amz-json-1.1' },
          Buffer.from('{"FailedRecordCount":0,"Records":[]}'),
        );
        return;
      }
      const forward = http.request(
        {
          hostname: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...withoutHopByHop(req.headers), 'content-length': String(body.length) },
        },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => answer(up.statusCode ?? 502, up.headers, Buffer.concat(parts)));
        },
      );
      forward.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  proxy.endpoint = `http://127.0.0.1:${address.port}`;
  proxy.close = () => new Promise((resolve) => server.close(() => resolve()));
  return proxy;
}

// ------------------------------------------------------------------- moto (IAM, Lambda)

/** One unsigned call to moto (it routes by the credential scope's service and checks no signature). */
async function motoCall(
  service: string,
  method: string,
  path: string,
  body: string,
  contentType: string,
): Promise<string> {
  const res = await fetch(`${moto.endpoint}${path}`, {
    method,
    headers: {
      'content-type': contentType,
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${TEST_REGION}/${service}/aws4_request, SignedHeaders=host, Signature=00`,
    },
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${service} ${method} ${path} failed: HTTP ${res.status} ${text}`);
  return text;
}

// ----------------------------------------------------------------- the mapping, emulated

/** Lambda's documented on-failure record for one Kinesis batch. */
function onFailure(batch: _Record[], shardId: string, invokeCount: number): OnFailureRecord {
  const info: KinesisBatchInfo = {
    shardId,
    startSequenceNumber: batch[0]!.SequenceNumber!,
    endSequenceNumber: batch[batch.length - 1]!.SequenceNumber!,
    approximateArrivalOfFirstRecord: batch[0]!.ApproximateArrivalTimestamp!.toISOString(),
    approximateArrivalOfLastRecord: batch[batch.length - 1]!.ApproximateArrivalTimestamp!.toISOString(),
    batchSize: batch.length,
    streamArn,
  };
  return {
    requestContext: {
      requestId: `req-${shardId}-${info.startSequenceNumber}`,
      functionArn: `arn:aws:lambda:${TEST_REGION}:${ACCOUNT}:function:${NAMES.fn}`,
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: invokeCount,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: '' },
    version: '1.0',
    timestamp: new Date().toISOString(),
    KinesisBatchInfo: info,
  };
}

async function shardRecords(shardId: string): Promise<_Record[]> {
  const c = clients(moto);
  const it = await c.kinesis.send(
    new GetShardIteratorCommand({ StreamName: NAMES.source, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  const got = await c.kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator!, Limit: 10_000 }));
  return got.Records ?? [];
}

let build: LambdaBuild;
let functionEnv: Record<string, string>;
let proxy: Proxy;
let failuresUrl: string;
let dlqUrl: string;
const messages: OnFailureRecord[] = [];

beforeAll(async () => {
  build = await buildLambda(join(scratch, 'build'));
  proxy = await faultProxy(moto.endpoint);
  const c = clients(moto);
  await createStream(c.kinesis, NAMES.source, 2);
  await createStream(c.kinesis, NAMES.output, 1);
  await createTable(c.ddb, NAMES.table);
  await seedTable(c.ddb, NAMES.table, [0, 1, 2, 3, 4, 5].map(profileItem));
  dlqUrl = await createQueue(c.sqs, NAMES.dlq);
  failuresUrl = await createQueue(c.sqs, NAMES.failures);

  // The function's environment exactly as synthesized, for the local stack's vars.
  const env = new TerraformEvaluator(tf, {
    vars,
    accountId: ACCOUNT,
    references: { 'aws_sqs_queue.dlq.url': dlqUrl },
  }).value(tf.resource!.aws_lambda_function!.function!.environment as Value) as { variables: Record<string, Value> };
  functionEnv = Object.fromEntries(Object.entries(env.variables).map(([k, v]) => [k, String(v)]));
  expect(functionEnv.OUTPUT_STREAM_NAME).toBe(NAMES.output);

  await motoCall(
    'iam',
    'POST',
    '/',
    new URLSearchParams({
      Action: 'CreateRole',
      Version: '2010-05-08',
      RoleName: label,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    }).toString(),
    'application/x-www-form-urlencoded; charset=utf-8',
  );
  await motoCall(
    'lambda',
    'POST',
    '/2015-03-31/functions',
    JSON.stringify({
      FunctionName: NAMES.fn,
      Runtime: 'nodejs22.x',
      Role: roleArn,
      Handler: 'index.handler',
      Code: { ZipFile: readFileSync(build.zip).toString('base64') },
      Timeout: 60,
      MemorySize: 256,
      Environment: { Variables: functionEnv },
    }),
    'application/json',
  );

  for (const e of EVENTS) {
    await c.kinesis.send(
      new PutRecordCommand({
        StreamName: NAMES.source,
        PartitionKey: e.customer_id,
        Data: Buffer.from(JSON.stringify(e)),
      }),
    );
  }
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * `atmos replay-failures -s local -- --mode local ...`, run asynchronously: the fault proxy lives
 * in this process and must keep serving while the command runs.
 */
function runReplay(extra: string[] = []): Promise<{ status: number; stdout: string; stderr: string }> {
  const args = [
    'replay-failures',
    '-s',
    'local',
    '--',
    '--mode',
    'local',
    '--bundle',
    build.zip,
    '--retry-delay-ms',
    '20',
    ...extra,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(ATMOS_BIN, args, {
      cwd: REPO_ROOT,
      env: {
        ...atmosEnv(),
        // The local stack routes Kinesis and CloudWatch to their own emulators (apply tier); this
        // test's moto (behind the fault proxy) serves Kinesis here, and the replay uses no CloudWatch.
        LOCAL_AWS_ENDPOINT_URL: proxy.endpoint,
        LOCAL_KINESIS_ENDPOINT_URL: proxy.endpoint,
        LOCAL_CLOUDWATCH_ENDPOINT_URL: proxy.endpoint,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGTERM'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
  });
}

async function queueDepth(url: string): Promise<number> {
  const a = await clients(moto).sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(a.Attributes!.ApproximateNumberOfMessages) + Number(a.Attributes!.ApproximateNumberOfMessagesNotVisible)
  );
}

describe('replay-failures after an outage of the output stream', () => {
  it('the outage: every batch fails through its retries and lands in the failures queue as AWS describes it', async () => {
    const c = clients(moto);
    await c.kinesis.send(new DeleteStreamCommand({ StreamName: NAMES.output }));
    const handler = createHandler({
      env: { ...functionEnv, POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
      dynamodb: c.ddb,
      kinesis: c.kinesis,
      sqs: c.sqs,
      retry: FAST_RETRY,
    });
    const shards = (await c.kinesis.send(new ListShardsCommand({ StreamName: NAMES.source }))).Shards!.map(
      (s) => s.ShardId!,
    );
    let seen = 0;
    for (const shardId of shards) {
      const records = await shardRecords(shardId);
      seen += records.length;
      for (let i = 0; i < records.length; i += BATCH) {
        let batch = records.slice(i, i + BATCH);
        let invocations = 0;
        for (let attempt = 0; attempt <= RETRIES && batch.length > 0; attempt++) {
          invocations++;
          const event = {
            Records: batch.map((r) => eventRecord(r, { shardId, streamArn } as KinesisBatchInfo, roleArn, TEST_REGION)),
          } as unknown as KinesisStreamEvent;
          const res = await handler(event);
          const failed = res.batchItemFailures.map((f) => f.itemIdentifier);
          if (failed.length === 0) {
            batch = [];
            break;
          }
          // ReportBatchItemFailures: the mapping resumes from the lowest reported record.
          const lowest = failed.reduce((a, b) => (BigInt(a) < BigInt(b) ? a : b));
          batch = batch.slice(batch.findIndex((r) => r.SequenceNumber === lowest));
        }
        if (batch.length > 0) {
          const message = onFailure(batch, shardId, invocations);
          messages.push(message);
          await c.sqs.send(new SendMessageCommand({ QueueUrl: failuresUrl, MessageBody: JSON.stringify(message) }));
        }
      }
    }
    expect(seen).toBe(EVENTS.length);
    expect(messages.reduce((n, m) => n + m.KinesisBatchInfo.batchSize, 0)).toBe(EVENTS.length);
    expect(await queueDepth(failuresUrl)).toBe(messages.length);
    expect(await queueDepth(dlqUrl)).toBe(0);
    await expect(c.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: NAMES.output }))).rejects.toThrow(
      /not found|ResourceNotFound/i,
    );
  }, 120_000);

  it('the replay (atmos replay-failures -s local): every event exactly once, in order per customer; both queues empty', async () => {
    const c = clients(moto);
    await createStream(c.kinesis, NAMES.output, 1);
    // The last record of the first batch is refused 7 times: the handler (6 attempts) reports it.
    const target = messages[0]!.KinesisBatchInfo.endSequenceNumber;
    const targetRecord = (await shardRecords(messages[0]!.KinesisBatchInfo.shardId)).find(
      (r) => r.SequenceNumber === target,
    )!;
    const targetEvent = JSON.parse(Buffer.from(targetRecord.Data!).toString('utf8')) as { event_id: string };
    proxy.fault = { eventId: targetEvent.event_id, times: 7 };

    const r = await runReplay();
    const out = r.stdout + r.stderr;
    console.log(r.stdout);
    expect(r.status, out).toBe(0);
    expect(proxy.injected).toBe(7);
    expect(out).toContain(`${messages.length} on-failure message(s) in the queue`);
    expect(out).toMatch(/batch item failure\(s\), lowest \d+; invoking again with 1 record\(s\) \(attempt 2\/4\)/);
    expect(out).toContain(
      `summary: ${messages.length} message(s): ${messages.length} replayed and deleted, 0 kept (0 trimmed from the stream, 0 still failing, 0 behind a kept message, 0 not on-failure records); ${EVENTS.length} record(s) accepted in ${messages.length + 1} invocation(s), 1 re-invocation(s)`,
    );

    const written = await readStream(c.kinesis, NAMES.output);
    // Exactly the expected multiset: each event once, enriched.
    expect(written.map((w) => w.body.event_id).sort()).toEqual(EVENTS.map((e) => e.event_id).sort());
    for (const w of written) {
      const n = Number(String(w.body.customer_id).slice('cust-'.length));
      const event = EVENTS.find((e) => e.event_id === w.body.event_id)!;
      expect(w.body).toMatchObject({
        ...event,
        record_type: 'event',
        customer_name: n <= 5 ? `Customer ${n}` : null,
        customer: n <= 5 ? expectedCustomer(n) : null,
      });
    }
    // One output shard: the stream order is the write order; each customer's events in their order.
    for (let customer = 0; customer < 8; customer++) {
      const order = written.filter((w) => w.body.customer_id === `cust-${customer}`).map((w) => w.body.event_id);
      expect(order, `cust-${customer}`).toEqual(
        EVENTS.filter((e) => e.customer_id === `cust-${customer}`).map((e) => e.event_id),
      );
    }
    expect(await queueDepth(failuresUrl)).toBe(0);
    expect(await queueDepth(dlqUrl)).toBe(0);
  }, 180_000);

  it('records trimmed from the stream: the message is kept and reported, the exit status is 1, nothing is written', async () => {
    const c = clients(moto);
    proxy.fault = undefined;
    const before = (await readStream(c.kinesis, NAMES.output)).length;
    const [first] = await shardRecords(messages[0]!.KinesisBatchInfo.shardId);
    // moto never trims; a range that starts before the shard's first record is what a trimmed
    // batch looks like to a reader (the named first record is not there any more).
    const trimmed = onFailure([first!], messages[0]!.KinesisBatchInfo.shardId, 3);
    trimmed.KinesisBatchInfo.startSequenceNumber = (BigInt(first!.SequenceNumber!) - 1n).toString();
    trimmed.KinesisBatchInfo.batchSize = 2;
    trimmed.requestContext.condition = 'RecordAgeExceeded';
    await c.sqs.send(new SendMessageCommand({ QueueUrl: failuresUrl, MessageBody: JSON.stringify(trimmed) }));
    await c.sqs.send(new SendMessageCommand({ QueueUrl: failuresUrl, MessageBody: '{"not":"an on-failure record"}' }));

    const r = await runReplay();
    const out = r.stdout + r.stderr;
    console.log(r.stdout);
    expect(r.status, out).toBe(1);
    expect(out).toMatch(
      /KEPT \(trimmed\): record \d+ of shardId-\d+ is no longer in the stream \(first readable: \d+\); it was trimmed after the retention period/,
    );
    expect(out).toContain(
      'KEPT (invalid): no KinesisBatchInfo (not an on-failure record of a Kinesis event source mapping)',
    );
    expect(out).toContain(
      'summary: 2 message(s): 0 replayed and deleted, 2 kept (1 trimmed from the stream, 0 still failing, 0 behind a kept message, 1 not on-failure records)',
    );
    expect((await readStream(c.kinesis, NAMES.output)).length).toBe(before);
    // Both kept, and visible again at once (not after the 15-minute visibility timeout).
    const left = await drainQueue(c.sqs, failuresUrl);
    expect(
      left
        .map(
          (m) =>
            (m.body as unknown as { KinesisBatchInfo?: KinesisBatchInfo }).KinesisBatchInfo?.startSequenceNumber ??
            'invalid',
        )
        .sort(),
    ).toEqual([trimmed.KinesisBatchInfo.startSequenceNumber, 'invalid'].sort());
  }, 180_000);

  it('--mode invoke sends a real lambda:Invoke; an invocation that fails keeps the message (moto runs no Lambda code without Docker)', async () => {
    const c = clients(moto);
    const before = (await readStream(c.kinesis, NAMES.output)).length;
    await c.sqs.send(new SendMessageCommand({ QueueUrl: failuresUrl, MessageBody: JSON.stringify(messages[0]) }));
    const r = await runReplay(['--mode', 'invoke', '--max-attempts', '1']);
    const out = r.stdout + r.stderr;
    console.log(r.stdout);
    expect(r.status, out).toBe(1);
    expect(out).toContain(`function ${NAMES.fn} (lambda:Invoke)`);
    expect(out).toMatch(
      /KEPT \(failing\): shardId-\d+ \d+\.\.\d+: \d+ record\(s\) still failing after 1 invocation\(s\): function error \(Handled\): error running docker/,
    );
    expect(out).toContain(
      'summary: 1 message(s): 0 replayed and deleted, 1 kept (0 trimmed from the stream, 1 still failing',
    );
    expect((await readStream(c.kinesis, NAMES.output)).length).toBe(before);
    expect((await drainQueue(c.sqs, failuresUrl)).map((m) => m.body)).toEqual([messages[0]]);
  }, 180_000);
});
