/**
 * The whole pipeline on one machine (issue 14): emulators + a real OpenSearch node, the `local`
 * stack deployed into them, and the data plane configured from what was deployed:
 *
 *   producers (load.ts) ─► ingest stream (kinesis-mock)
 *     ├─► event source mapping (local-aws/event-source-mapping.ts) ─► handler bundle (lambda-host.ts)
 *     │        └─► output stream · lookups in DynamoDB (moto) · DLQ (moto SQS)
 *     ├─► Flink job jar on a MiniCluster (flink.ts) ─► output stream
 *     └─► Firehose stand-in (local-aws/firehose-delivery.ts) ─► S3 archive (moto)
 *   output stream ─► Firehose stand-in ─► OpenSearch node (events-YYYY-MM-DD), failed docs ─► S3 backup
 *
 * Every AWS call of the data plane (handler, Flink) goes through a fault proxy (fault-proxy.ts)
 * that routes Kinesis to kinesis-mock and the rest to moto, and injects faults on demand; the
 * OpenSearch delivery goes through a second one in front of the node.
 *
 * startPipeline() brings everything up once; runScenario() runs one load (with its faults) and
 * returns the answer and the counters; stopPipeline() ends every process it started.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { KinesisEventSourceMapping } from '../../local-aws/event-source-mapping';
import { startOpenSearchNode, type OpenSearchNode } from '../../local-aws/opensearch-node';
import { startEmulators, type Emulators } from '../../test-apply/emulators';
import { atmosEnv, QUIET_TOFU_ENV } from '../lib/atmos';
import { readDeployed, REGION, type Deployed } from './control-plane';
import { createDeliveries, type Deliveries } from './deliveries';
import { deployLocal, describeVars, type StepResult } from './deploy';
import { FaultProxy } from './fault-proxy';
import { LocalFlink, writeFlinkConfig, type FlinkStopped } from './flink';
import { LambdaHost } from './lambda-host';
import { expectedAggregates, produce, seedProfiles, type LoadOptions, type Produced } from './load';
import { allDocs, blueprintQuery, os, refresh, searchable, wipeEvents, type Bucket, type QueryAnswer } from './search';
import { applyFaults, type FaultScenario } from './faults';

const REPO_ROOT = join(__dirname, '..', '..');
const LAMBDA_ZIP = join(REPO_ROOT, 'components', 'lambda-enrichment', 'dist', 'enrichment.zip');
const CREDS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export type Log = (line: string) => void;

/** Everything started, in start order; stopped in reverse (success, failure, Ctrl-C). */
export class Cleanup {
  private readonly steps: { name: string; fn: () => Promise<void> | void }[] = [];
  add(name: string, fn: () => Promise<void> | void): void {
    this.steps.push({ name, fn });
  }
  async run(log: Log): Promise<void> {
    while (this.steps.length > 0) {
      const s = this.steps.pop()!;
      try {
        await s.fn();
      } catch (e) {
        log(`cleanup ${s.name}: ${(e as Error).message}`);
      }
    }
  }
}

export interface Pipeline {
  readonly runDir: string;
  readonly emulators: Emulators;
  readonly search: OpenSearchNode;
  readonly deployed: Deployed;
  readonly deploySteps: StepResult[];
  readonly awsProxy: FaultProxy;
  readonly searchProxy: FaultProxy;
  readonly host: LambdaHost;
  readonly esm: KinesisEventSourceMapping;
  readonly deliveries: Deliveries;
  readonly clients: { kinesis: KinesisClient; ddb: DynamoDBClient; sqs: SQSClient; s3: S3Client };
  readonly timings: Record<string, number>;
  /** The environment atmos runs with (tools on PATH, emulator endpoints, state dir). */
  readonly atmosEnv: NodeJS.ProcessEnv;
  readonly cleanup: Cleanup;
  readonly log: Log;
}

const http1 = () => new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: 30_000 });

export function clientsFor(moto: string, kinesis: string): Pipeline['clients'] {
  const base = { region: REGION, credentials: CREDS, requestHandler: http1(), maxAttempts: 5 };
  return {
    kinesis: new KinesisClient({ ...base, endpoint: kinesis }),
    ddb: new DynamoDBClient({ ...base, endpoint: moto }),
    sqs: new SQSClient({ ...base, endpoint: moto }),
    s3: new S3Client({ ...base, endpoint: moto, forcePathStyle: true }),
  };
}

/** What scripts/env.sh sets (the project's tools first on PATH, the provider mirror), so the command works without it. */
function toolEnv(): NodeJS.ProcessEnv {
  const tofurc = join(REPO_ROOT, '.tools', 'tofurc');
  return atmosEnv({
    PATH: `${join(REPO_ROOT, '.tools', 'bin')}:${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
    ...QUIET_TOFU_ENV,
    ...(existsSync(tofurc) ? { TF_CLI_CONFIG_FILE: tofurc } : {}),
  });
}

const since = (t0: number) => (Date.now() - t0) / 1000;

export interface Infra {
  emulators: Emulators;
  search: OpenSearchNode;
  stateDir: string;
}

export async function startPipeline(opts: {
  log: Log;
  runDir?: string;
  cleanup?: Cleanup;
  /** development only: emulators and a deploy that are already up */
  attach?: Infra;
  onDeployed?: (infra: Infra) => void;
  stopAfterDeploy?: boolean;
}): Promise<Pipeline> {
  const log = opts.log;
  const cleanup = opts.cleanup ?? new Cleanup();
  const timings: Record<string, number> = {};
  const runDir =
    opts.runDir ??
    join(REPO_ROOT, '.tools', 'pipeline-local', `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(runDir, { recursive: true });
  try {
    // 1. emulators + OpenSearch node
    let t0 = Date.now();
    let emulators: Emulators;
    let search: OpenSearchNode;
    let deploySteps: StepResult[] = [];
    const stateDir = join(runDir, 'state');
    if (opts.attach) {
      // Development: reuse emulators + a deploy that are already up (see attachInfo()).
      ({ emulators, search } = opts.attach);
    } else {
      log('start: moto, kinesis-mock, kumo, OpenSearch node …');
      [emulators, search] = await Promise.all([
        startEmulators(),
        startOpenSearchNode({ log: (l) => log(`  opensearch: ${l}`) }),
      ]);
      cleanup.add('emulators', () => emulators.stopAll());
      cleanup.add('opensearch', () => search.stop());
    }
    timings.emulators = since(t0);
    log(
      `start: moto ${emulators.moto.endpoint}, kinesis-mock ${emulators.kinesis.endpoint}, kumo ${emulators.cloudwatch.endpoint}, OpenSearch ${search.endpoint} (${timings.emulators.toFixed(1)} s)`,
    );

    // 2. deploy the local stack, fresh state of its own (LOCAL_STATE_DIR, stacks/mixins/stage/local.yaml)
    const atmosEnv: NodeJS.ProcessEnv = {
      ...toolEnv(),
      ...emulators.env,
      LOCAL_STATE_DIR: opts.attach?.stateDir ?? stateDir,
    };
    if (!opts.attach) {
      rmSync(stateDir, { recursive: true, force: true });
      t0 = Date.now();
      deploySteps = await deployLocal({ env: atmosEnv, logFile: join(runDir, 'deploy.log'), progress: log });
      timings.deploy = since(t0);
      log(`deploy: done in ${timings.deploy.toFixed(0)} s (log ${join(runDir, 'deploy.log')})`);
    }
    opts.onDeployed?.({ emulators, search, stateDir });
    if (opts.stopAfterDeploy) return undefined as unknown as Pipeline;

    t0 = Date.now();
    const setup = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        join(REPO_ROOT, 'scripts', 'opensearch-setup.ts'),
        '--endpoint',
        search.endpoint,
        '--no-sign',
        '--skip-security',
      ],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      },
    );
    if (setup.status !== 0) throw new Error(`opensearch-setup failed:\n${setup.stdout}\n${setup.stderr}`);
    timings.opensearchSetup = since(t0);
    log(
      `opensearch-setup: events template + ingest pipelines installed on ${search.endpoint} (${timings.opensearchSetup.toFixed(1)} s)`,
    );

    // 3. what was deployed
    const vars = await describeVars(
      ['lambda-enrichment', 'kinesis-analytics', 'firehose-s3', 'firehose-opensearch'],
      atmosEnv,
    );
    const v = vars['lambda-enrichment']!;
    const label = (name: string) => `${String(v.namespace)}-${String(v.environment)}-${String(v.stage)}-${name}`;
    const deployed = await readDeployed({
      moto: emulators.moto.endpoint,
      kinesis: emulators.kinesis.endpoint,
      vars,
      label,
    });
    for (const [part, src] of Object.entries(deployed.sources)) log(`config: ${part}: ${src}`);

    // 4. proxies
    const awsProxy = new FaultProxy(emulators.moto.endpoint, [
      { targetPrefix: 'Kinesis_20131202.', upstream: emulators.kinesis.endpoint },
    ]);
    await awsProxy.start();
    cleanup.add('aws proxy', () => awsProxy.stop());
    const searchProxy = new FaultProxy(search.endpoint);
    await searchProxy.start();
    cleanup.add('search proxy', () => searchProxy.stop());

    // 5. the handler bundle: the zip the function was deployed with (same CodeSha256)
    const zip = readFileSync(LAMBDA_ZIP);
    const sha = createHash('sha256').update(zip).digest('base64');
    if (sha !== deployed.codeSha256)
      throw new Error(`${LAMBDA_ZIP} (sha256 ${sha}) is not the deployed code (CodeSha256 ${deployed.codeSha256})`);
    const codeDir = join(runDir, 'lambda');
    mkdirSync(codeDir, { recursive: true });
    const unzip = spawnSync('unzip', ['-o', '-q', LAMBDA_ZIP, '-d', codeDir], { encoding: 'utf8' });
    if (unzip.status !== 0) throw new Error(`unzip ${LAMBDA_ZIP}: ${unzip.stderr}`);
    const dlqName = deployed.functionEnv.DLQ_URL!.split('/').pop()!;
    const host = new LambdaHost({
      codeDir,
      functionName: deployed.functionName,
      timeoutMs: deployed.functionTimeoutMs,
      env: {
        PATH: process.env.PATH,
        ...deployed.functionEnv,
        // Endpoints only: every SDK call of the function goes to the fault proxy. The SQS client
        // sends to the queue URL's host, so the DLQ URL gets the proxy's origin (same path).
        DLQ_URL: `${awsProxy.endpoint}/123456789012/${dlqName}`,
        AWS_ENDPOINT_URL: awsProxy.endpoint,
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
        POWERTOOLS_LOG_LEVEL: deployed.functionEnv.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      },
      log: (() => {
        const file = join(runDir, 'lambda.log');
        return (l: string) => writeFileSync(file, l, { flag: 'a' });
      })(),
    });
    cleanup.add('lambda environments', () => host.stop());

    const clients = clientsFor(emulators.moto.endpoint, emulators.kinesis.endpoint);
    const m = deployed.mapping;
    const esm = new KinesisEventSourceMapping({
      kinesis: clients.kinesis,
      // The local mapping polls the stream (it has no SubscribeToShard): a consumer ARN names its stream.
      streamArn: m.eventSourceArn.replace(/\/consumer\/.*$/, ''),
      function: host.fn,
      functionArn: deployed.functionArn,
      roleArn: deployed.roleArn,
      batchSize: m.batchSize,
      maximumBatchingWindowInSeconds: m.maximumBatchingWindowInSeconds,
      startingPosition: m.startingPosition,
      reportBatchItemFailures: m.reportBatchItemFailures,
      bisectBatchOnFunctionError: m.bisectBatchOnFunctionError,
      maximumRetryAttempts: m.maximumRetryAttempts,
      maximumRecordAgeInSeconds: m.maximumRecordAgeInSeconds,
      onFailure: { sqs: clients.sqs, queueUrl: deployed.failuresQueueUrl },
      functionTimeoutMs: deployed.functionTimeoutMs,
    });
    log(
      `lambda: ${deployed.functionName} under the local event source mapping: batch ${m.batchSize}, window ${m.maximumBatchingWindowInSeconds} s, ${m.startingPosition}, bisect ${m.bisectBatchOnFunctionError}, retries ${m.maximumRetryAttempts}, max age ${m.maximumRecordAgeInSeconds} s, ReportBatchItemFailures ${m.reportBatchItemFailures}, on-failure ${deployed.failuresQueueUrl.split('/').pop()}`,
    );
    await esm.init();
    esm.start();
    cleanup.add('event source mapping', () => esm.stop());

    const deliveries = await createDeliveries({
      deployed,
      vars,
      label,
      clients,
      searchEndpoint: searchProxy.endpoint,
      log,
    });
    cleanup.add('deliveries', () => deliveries.stop());
    await deliveries.start();

    return {
      runDir,
      emulators,
      search,
      deployed,
      deploySteps,
      awsProxy,
      searchProxy,
      host,
      esm,
      deliveries,
      clients,
      timings,
      atmosEnv,
      cleanup,
      log,
    };
  } catch (e) {
    await cleanup.run(log);
    throw e;
  }
}

export async function stopPipeline(p: Pipeline): Promise<void> {
  await p.cleanup.run(p.log);
}

export interface ScenarioOptions {
  readonly runId: string;
  readonly load: Omit<LoadOptions, 'runId'>;
  readonly faults: FaultScenario;
  /** Flink checkpoint interval (s) for the local run: the deployed one when CUSTOM, else this. */
  readonly checkpointSeconds?: number;
  /**
   * Tests: the event source mapping is paused from the load's start until this many seconds after
   * its end (the overload case: enrichment catching up for longer than the job's watermark
   * idleness). Default 0 (not paused).
   */
  readonly holdEnrichmentSeconds?: number;
}

export interface ScenarioResult {
  runId: string;
  faults: FaultScenario;
  eventsIn: number;
  wellFormed: number;
  malformed: number;
  documents: number;
  eventDocs: number;
  aggregateDocs: number;
  duplicates: number;
  lost: number;
  lostIds: string[];
  duplicateIds: string[];
  wrongAggregates: string[];
  malformedInDlq: number;
  query: QueryAnswer;
  expectedBuckets: { key: number; events: number; aggregates: number }[];
  exact: boolean;
  latencyMs: { p50: number; p99: number; samples: number; bufferSeconds: number };
  eventsPerSecond: number;
  counters: Record<string, Record<string, number | string>>;
  injected: Record<string, number>;
  seconds: { load: number; catchUp: number; flinkStop: number; flush: number; total: number };
  flink: FlinkStopped & { restoredCheckpoint: number; completedCheckpoints: number };
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<{ body: string }[]> {
  const out: { body: string }[] = [];
  for (let empty = 0; empty < 2; ) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 60,
      }),
    );
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) {
      empty++;
      continue;
    }
    for (const m of msgs) out.push({ body: m.Body ?? '' });
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
  return out;
}

/**
 * Until the job has read the load: its malformed counter reaches the malformed records produced
 * (every 1/share-th record, so the last one is among the last records put), then two polling
 * intervals for the records after it. Without malformed records: 10 polling intervals. The
 * accounting checks every aggregate's count afterwards; this only decides when to drain.
 */
async function waitFlinkRead(
  flink: LocalFlink,
  malformed: number,
  pollingMs: number,
  timeoutMs = 300_000,
): Promise<string> {
  const t0 = Date.now();
  if (malformed === 0) {
    await new Promise((r) => setTimeout(r, 10 * pollingMs));
    return `no malformed records to follow: waited ${10 * pollingMs} ms`;
  }
  for (;;) {
    const s = await flink.status();
    if (s.malformedEvents >= malformed) break;
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        `flink read ${s.malformedEvents} of ${malformed} malformed records within ${timeoutMs} ms: the job is not reading the ingest stream`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 2 * pollingMs));
  return `read all ${malformed} malformed records ${since(t0).toFixed(1)} s after the load`;
}

export async function runScenario(p: Pipeline, o: ScenarioOptions): Promise<ScenarioResult> {
  const log = p.log;
  const tStart = Date.now();
  p.awsProxy.clear();
  p.searchProxy.clear();
  p.awsProxy.injected.clear();
  p.searchProxy.injected.clear();
  await wipeEvents(p.search.endpoint);
  await drainQueue(p.clients.sqs, p.deployed.dlqUrl);
  await drainQueue(p.clients.sqs, p.deployed.failuresQueueUrl);
  await seedProfiles(p.clients.ddb, p.deployed.lookupTable, o.runId, o.load.customers);
  const invocationsBefore = p.esm.invocations.length;
  const onFailureBefore = p.esm.onFailureRecords.length;
  const hostBefore = { invocations: p.host.invocations, errors: p.host.functionErrors, cold: p.host.coldStarts };
  const deliveryBefore = p.deliveries.stats();

  // Flink: a fresh job per scenario, the deployed property group with local endpoints.
  const props: Record<string, string> = { ...p.deployed.flinkProperties, 'aws.endpoint.url': p.awsProxy.endpoint };
  if (props['input.reader'] === 'EFO') {
    // The local run polls: kinesis-mock serves SubscribeToShard over HTTP/2 only on TLS, and the job's
    // EFO reader (FlinkKinesisConsumer) would need its certificate trusted. Same stream, same records.
    props['input.reader'] = 'POLLING';
    delete props['input.efo.consumer.name'];
  }
  const flinkDir = join(p.runDir, `flink-${o.runId}`);
  mkdirSync(flinkDir, { recursive: true });
  writeFlinkConfig(join(flinkDir, 'config.json'), props);
  const flink = new LocalFlink({
    configFile: join(flinkDir, 'config.json'),
    stateDir: flinkDir,
    checkpointSeconds: p.deployed.flinkCheckpointSeconds ?? o.checkpointSeconds ?? 10,
    parallelism: 2,
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
      AWS_REGION: REGION,
      AWS_CBOR_DISABLED: 'true',
    },
  });
  p.cleanup.add(`flink ${o.runId}`, () => flink.kill());
  try {
    let t0 = Date.now();
    await flink.start();
    await flink.waitRunning();
    // The sources take their LATEST iterators right after start: give them a moment.
    await new Promise((r) => setTimeout(r, 3_000));
    log(
      `${o.runId}: flink job running (${since(t0).toFixed(1)} s); load ${o.load.rate}/s × ${o.load.durationSeconds} s, ${o.load.customers} customers, malformed ${o.load.malformed}, faults ${o.faults}`,
    );

    // Faults and the latency sampler run while the load does.
    const windowMinutes = Number(props['window.size.minutes']);
    const sample: Produced[] = [];
    const seen = new Map<string, number>();
    let produced: Produced[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling || sample.some((s) => !seen.has(s.eventId))) {
        const pending = sample
          .filter((s) => !seen.has(s.eventId))
          .slice(0, 200)
          .map((s) => s.eventId);
        const found = await searchable(p.search.endpoint, pending);
        const now = Date.now();
        for (const id of found) seen.set(id, now);
        if (!sampling && Date.now() - t0 > 600_000) break;
        await new Promise((r) => setTimeout(r, 500));
        if (!sampling && pending.length === 0) break;
      }
    })();
    const stopFaults = applyFaults(o.faults, {
      proxy: p.awsProxy,
      searchProxy: p.searchProxy,
      host: p.host,
      flink,
      log: (l) => log(`${o.runId}: ${l}`),
    });

    t0 = Date.now();
    let lastLine = 0;
    const progress = async (n: number) => {
      if (Date.now() - lastLine < 3_000) return;
      lastLine = Date.now();
      const c = await os(p.search.endpoint, 'GET', 'events-*/_count?allow_no_indices=true').catch(() => ({
        json: { count: '?' },
      }));
      const enriched = p.esm.invocations
        .slice(invocationsBefore)
        .filter((i) => i.outcome === 'success')
        .reduce((s, i) => s + i.sequenceNumbers.length, 0);
      log(
        `${o.runId}: produced ${n}, enriched ${enriched}, aggregates (flink: at window end), documents searchable ${String(c.json.count)}`,
      );
    };
    if ((o.holdEnrichmentSeconds ?? 0) > 0) await p.esm.stop();
    const load = await produce(
      p.clients.kinesis,
      p.deployed.ingestStreamArn.split('/').pop()!,
      { runId: o.runId, ...o.load },
      (n) => void progress(n),
    );
    produced = load.events;
    const every = Math.max(1, Math.floor(produced.length / 300));
    for (let i = 0; i < produced.length; i += every) sample.push(produced[i]!);
    const loadSeconds = since(t0);
    const loadEnd = Date.now();
    log(
      `${o.runId}: load done: ${produced.length} events + ${load.malformed.length} malformed in ${loadSeconds.toFixed(1)} s (${load.putRecordsRetries} PutRecords entries retried)`,
    );

    await stopFaults();

    // Every window final: stop-with-savepoint --drain (MAX_WATERMARK fires every window), as soon
    // as the job has read the load and before its sources go idle. Flink 1.20 drops the drain's
    // MAX_WATERMARK of a source whose status is IDLE (RecordWriterOutput/ChainingOutput ignore
    // watermarks while idle; apache/flink#29037, FLINK-40499, open), so when every source subtask
    // has been without events for watermark.idleness.seconds, the open windows never fire and
    // their aggregates are never written. Draining after the enrichment's catch-up lost every
    // aggregate of the last window whenever the catch-up took longer than the idleness (60 s).
    const flinkRead = await waitFlinkRead(
      flink,
      load.malformed.length,
      Number(props['input.polling.interval.ms'] ?? 1000),
    );
    const beforeStop = await flink.status();
    t0 = Date.now();
    const stopped = await flink.stopWithDrain();
    const flinkStop = since(t0);
    log(
      `${o.runId}: flink stopped with drain ${since(loadEnd).toFixed(1)} s after the load (${flinkRead}; drain ${flinkStop.toFixed(1)} s): savepoint ${stopped.savepoint}, late ${stopped.lateEvents}, malformed ${stopped.malformedEvents}`,
    );

    // Catch up: the mapping processes everything in the stream.
    t0 = Date.now();
    if ((o.holdEnrichmentSeconds ?? 0) > 0) {
      const wait = loadEnd + o.holdEnrichmentSeconds! * 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await p.esm.stop();
    await p.esm.drain();
    p.esm.start();
    const catchUp = since(t0);

    // Batches the mapping gave up on (on-failure records in the failures queue): replayed the way
    // an operator does after an outage, `atmos replay-failures -s local -- --mode local`.
    const discarded = p.esm.onFailureRecords.length - onFailureBefore;
    let replayed = 'none needed';
    if (discarded > 0) {
      log(
        `${o.runId}: ${discarded} batch(es) in the failures queue: npx tsx scripts/replay-failures.ts --stack local --mode local`,
      );
      const r = spawnSync(
        process.execPath,
        [
          join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
          join(REPO_ROOT, 'scripts', 'replay-failures.ts'),
          '--stack',
          'local',
          '--mode',
          'local',
        ],
        {
          cwd: REPO_ROOT,
          env: {
            ...p.atmosEnv,
            AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
            AWS_REGION: REGION,
          },
          encoding: 'utf8',
          timeout: 300_000,
        },
      );
      replayed = `exit ${r.status}: ${(r.stdout.trim().split('\n').pop() ?? '').slice(0, 300)}`;
      log(`${o.runId}: replay-failures ${replayed}`);
      if (r.status !== 0) log(r.stdout.slice(-3000) + r.stderr.slice(-3000));
    }

    // Deliver what is buffered, then make it searchable.
    t0 = Date.now();
    await p.deliveries.flush();
    await refresh(p.search.endpoint);
    const flush = since(t0);
    sampling = false;
    await sampler;

    const query = await blueprintQuery(p.search.endpoint);
    const docs = await allDocs(p.search.endpoint);
    const dlq = await drainQueue(p.clients.sqs, p.deployed.dlqUrl);
    const failures = await drainQueue(p.clients.sqs, p.deployed.failuresQueueUrl);

    // Independent answer: from what was produced.
    const cutoff = query.sentAt - 5 * 60_000;
    const aggs = expectedAggregates(produced, windowMinutes);
    const minute = (t: number) => Math.floor(t / 60_000) * 60_000;
    const exp = new Map<number, { events: number; aggregates: number }>();
    for (const e of produced)
      if (e.ts >= cutoff) {
        const b = exp.get(minute(e.ts)) ?? { events: 0, aggregates: 0 };
        b.events++;
        exp.set(minute(e.ts), b);
      }
    for (const a of aggs.values())
      if (a.windowEnd >= cutoff) {
        const b = exp.get(minute(a.windowEnd)) ?? { events: 0, aggregates: 0 };
        b.aggregates++;
        exp.set(minute(a.windowEnd), b);
      }
    const expectedBuckets = [...exp.entries()].sort((a, b) => a[0] - b[0]).map(([key, c]) => ({ key, ...c }));
    const got = new Map(query.buckets.filter((b: Bucket) => b.count > 0).map((b) => [b.key, b.count]));
    const exactBuckets =
      got.size === expectedBuckets.length && expectedBuckets.every((b) => got.get(b.key) === b.events + b.aggregates);
    const expectedTotal = expectedBuckets.reduce((s, b) => s + b.events + b.aggregates, 0);

    // Read-back: every document accounted for.
    const byId = new Map<string, number>();
    for (const d of docs) byId.set(d.id, (byId.get(d.id) ?? 0) + 1);
    const duplicateIds = [...byId.entries()].filter(([, n]) => n > 1).map(([id]) => id);
    const eventDocs = docs.filter((d) => d.source.record_type === 'event');
    const aggDocs = docs.filter((d) => d.source.record_type === 'aggregate');
    const eventIds = new Set(eventDocs.map((d) => d.id));
    const lostIds = produced.filter((e) => !eventIds.has(e.eventId)).map((e) => e.eventId);
    const wrongAggregates: string[] = [];
    const aggById = new Map(aggDocs.map((d) => [d.id, d]));
    // Aggregates with a count below the expected one lost events of their window: counted as lost.
    let undercounted = 0;
    for (const a of aggs.values()) {
      const id = `${a.customerId}#${new Date(a.windowStart).toISOString().replace('.000Z', 'Z')}`;
      const d = aggById.get(id);
      if (!d) {
        lostIds.push(id);
      } else if (Number(d.source.count) !== a.count) {
        wrongAggregates.push(`${id}: count ${String(d.source.count)}, expected ${a.count}`);
        if (Number(d.source.count) < a.count) undercounted++;
      }
      aggById.delete(id);
    }
    // Documents nobody produced (another run's, or invented): duplicates of nothing.
    const stray = [...aggById.keys(), ...eventDocs.filter((d) => !d.id.startsWith(`${o.runId}-`)).map((d) => d.id)];
    const malformedTexts = new Set(load.malformed.map((m) => m.text));
    // Malformed records: each in the DLQ once or more (a redelivered batch may send one twice;
    // the DLQ is at-least-once too), with its original bytes.
    const inDlq = new Set<string>();
    for (const m of dlq) {
      try {
        const b = JSON.parse(m.body) as { data?: string };
        const text = Buffer.from(String(b.data ?? ''), 'base64').toString('utf8');
        if (malformedTexts.has(text)) inDlq.add(text);
      } catch {
        /* not one of ours: shows in the DLQ counter only */
      }
    }
    const malformedInDlq = inDlq.size;
    const lost = lostIds.length + undercounted + (load.malformed.length - malformedInDlq);
    const duplicates =
      duplicateIds.length +
      stray.length +
      wrongAggregates.filter(
        (w) =>
          /count (\d+), expected (\d+)/.exec(w) &&
          Number(/count (\d+)/.exec(w)![1]) > Number(/expected (\d+)/.exec(w)![1]),
      ).length;

    const lat = produced.filter((e) => seen.has(e.eventId)).map((e) => seen.get(e.eventId)! - e.producedAt);
    const inv = p.esm.invocations.slice(invocationsBefore);
    const counters: ScenarioResult['counters'] = {
      producer: {
        out: produced.length + load.malformed.length,
        malformed: load.malformed.length,
        putRecordsRetried: load.putRecordsRetries,
        'PutRecords calls': load.putRecordsCalls,
        'PutRecords ms (sum)': load.putRecordsMillis,
      },
      'event source mapping': {
        invocations: inv.length,
        'records in': inv.filter((i) => i.retry === 0).reduce((s, i) => s + i.sequenceNumbers.length, 0),
        'function errors': inv.filter((i) => i.outcome === 'function_error').length,
        'partial batches': inv.filter((i) => i.outcome === 'partial').length,
        'on-failure (failures queue)': discarded,
        replayed,
        'cold starts': p.host.coldStarts - hostBefore.cold,
      },
      enrichment: { out: eventDocs.length, 'DLQ (malformed)': dlq.length, 'failures queue messages': failures.length },
      flink: {
        out: aggDocs.length,
        late: stopped.lateEvents,
        malformed: stopped.malformedEvents,
        checkpoints: beforeStop.completedCheckpoints,
        'restored from checkpoint': beforeStop.restoredCheckpoint,
      },
      ...p.deliveries.counters(deliveryBefore),
      opensearch: { documents: docs.length, events: eventDocs.length, aggregates: aggDocs.length },
    };
    const injected = Object.fromEntries([...p.awsProxy.injected, ...p.searchProxy.injected]);
    return {
      runId: o.runId,
      faults: o.faults,
      eventsIn: produced.length + load.malformed.length,
      wellFormed: produced.length,
      malformed: load.malformed.length,
      documents: docs.length,
      eventDocs: eventDocs.length,
      aggregateDocs: aggDocs.length,
      duplicates,
      lost,
      lostIds: lostIds.slice(0, 20),
      duplicateIds: [...duplicateIds, ...stray].slice(0, 20),
      wrongAggregates: wrongAggregates.slice(0, 20),
      malformedInDlq,
      query,
      expectedBuckets,
      exact: exactBuckets && query.total === expectedTotal,
      latencyMs: {
        p50: pct(lat, 50),
        p99: pct(lat, 99),
        samples: lat.length,
        bufferSeconds:
          p.deployed.searchDelivery.Destinations?.[0]?.AmazonopensearchserviceDestinationDescription?.BufferingHints
            ?.IntervalInSeconds ?? NaN,
      },
      eventsPerSecond: produced.length / loadSeconds,
      counters,
      injected,
      seconds: { load: loadSeconds, catchUp, flinkStop, flush, total: since(tStart) },
      flink: {
        ...stopped,
        restoredCheckpoint: beforeStop.restoredCheckpoint,
        completedCheckpoints: beforeStop.completedCheckpoints,
      },
    };
  } finally {
    flink.kill();
  }
}
