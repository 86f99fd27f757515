/**
 * The local AWS emulators the apply tier runs against, each a real server on a free 127.0.0.1
 * port, started for the tier and stopped after it:
 *
 *   moto          every service the components use, except the two below
 *                 (PyPI moto[server], .tools/venv, patched with tools/moto/*.patch; started by
 *                 test/support/moto-server.ts); its Lambda checks a consumer ARN event source
 *                 against kinesis-mock (MOTO_LAMBDA_EXTERNAL_KINESIS_ENDPOINT, patch 0001)
 *   kinesis-mock  Kinesis (npm kinesis-local, node_modules): enhanced fan-out consumers, their
 *                 tags (ListTagsForResource), which moto lacks
 *   kumo          CloudWatch (scripts/build-kumo.sh, .tools/bin/kumo): the provider's CloudWatch
 *                 client speaks smithy-rpc-v2-cbor, which moto does not serve
 *
 * No component knows about them: {@link Emulators.env} holds the variables the `local` stack's
 * `env:` section reads (stacks/mixins/stage/local.yaml), which point the AWS provider's
 * AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_<SERVICE> at these servers, and
 * TF_AWS_EMULATOR_WAITS=1, which shortens the provider's fixed SQS and OpenSearch waits
 * (tools/aws-provider/0001-emulator-fixed-waits.patch: waiting time only, same checks).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, dirname, join } from 'node:path';

import { freePort, REPO_ROOT, startMotoServer } from '../test/support/moto-server';

/** moto's default account, which kinesis-mock must namespace its streams under (ARNs). */
export const LOCAL_ACCOUNT_ID = '123456789012';

const KINESIS_LOCAL = join(REPO_ROOT, 'node_modules', 'kinesis-local');
const KUMO_BIN = join(REPO_ROOT, '.tools', 'bin', 'kumo');

export interface Emulator {
  readonly name: string;
  /** What it serves, for the summary. */
  readonly serves: string;
  readonly version: string;
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** Seconds from spawn until it answered. */
  readonly startSeconds: number;
  /** The last few KiB of its output (for error messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface Emulators {
  readonly moto: Emulator;
  readonly kinesis: Emulator;
  readonly cloudwatch: Emulator;
  /** The variables the local stack reads (LOCAL_*_ENDPOINT_URL). */
  readonly env: Record<string, string>;
  stopAll(): Promise<void>;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (or rejects on exit/timeout). */
async function waitForPort(
  name: string,
  port: number,
  child: ChildProcess,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited early (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${output()}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Spawns a server process on 127.0.0.1 and waits until its port accepts connections. */
async function startProcess(opts: {
  name: string;
  serves: string;
  version: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  port: number;
  timeoutMs: number;
}): Promise<Emulator> {
  const started = Date.now();
  const child = spawn(opts.command, opts.args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  await waitForPort(opts.name, opts.port, child, opts.timeoutMs, () => output);
  return {
    name: opts.name,
    serves: opts.serves,
    version: opts.version,
    endpoint: `http://127.0.0.1:${opts.port}`,
    startSeconds: (Date.now() - started) / 1000,
    log: () => output,
    stop: () => stopChild(child),
  };
}

function motoVersion(): string {
  const pin = readFileSync(join(REPO_ROOT, 'tools', 'requirements-moto.txt'), 'utf8').match(/^moto==(\S+)$/m);
  return pin ? pin[1] : 'unknown';
}

/**
 * kinesis-mock (npm kinesis-local): its plain-HTTP port serves the API (the TLS port is bound
 * too, so it gets a free port of its own). AWS_ACCOUNT_ID: the account its ARNs carry, which must
 * be the account the components build their ARNs with (moto's STS answers 123456789012).
 * KINESIS_MOCK_CERT_PATH must be absolute (it resolves a relative path against the working
 * directory, not its own folder).
 */
async function startKinesisMock(plainPort: number): Promise<Emulator> {
  const main = join(KINESIS_LOCAL, 'main.js');
  if (!existsSync(main)) throw new Error(`kinesis-mock not found at ${main}: run scripts/bootstrap.sh (npm ci)`);
  const version = JSON.parse(readFileSync(join(KINESIS_LOCAL, 'package.json'), 'utf8')).version as string;
  let tlsPort = await freePort();
  while (tlsPort === plainPort) tlsPort = await freePort();
  return startProcess({
    name: 'kinesis-mock',
    serves: 'Kinesis',
    version: `kinesis-local ${version}`,
    command: process.execPath,
    args: [main],
    env: {
      AWS_ACCOUNT_ID: LOCAL_ACCOUNT_ID,
      AWS_REGION: 'us-east-1',
      KINESIS_MOCK_PLAIN_PORT: String(plainPort),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      KINESIS_MOCK_CERT_PATH: join(KINESIS_LOCAL, 'server.json'),
      LOG_LEVEL: 'WARN',
      SHOULD_PERSIST_DATA: 'false',
      LOAD_DATA_IF_EXISTS: 'false',
    },
    port: plainPort,
    timeoutMs: 60_000,
  });
}

/** kumo (Go, built by scripts/build-kumo.sh): CloudWatch over smithy-rpc-v2-cbor. */
async function startKumo(): Promise<Emulator> {
  if (!existsSync(KUMO_BIN))
    throw new Error(`kumo not found at ${KUMO_BIN}: run scripts/bootstrap.sh (scripts/build-kumo.sh)`);
  // scripts/build-kumo.sh caches it as <cache>/kumo/<version>-<patch set hash>/kumo (it has no
  // --version flag).
  const version = `kumo ${basename(dirname(realpathSync(KUMO_BIN)))}`;
  const port = await freePort();
  return startProcess({
    name: 'kumo',
    serves: 'CloudWatch (metrics, alarms, dashboards)',
    version,
    command: KUMO_BIN,
    args: ['--host', '127.0.0.1', '--port', String(port)],
    env: { KUMO_LOG_LEVEL: 'warn' },
    port,
    timeoutMs: 30_000,
  });
}

/**
 * moto, patched (tools/moto/README.md): the check fails loudly when the installed moto lacks a
 * patch (a venv rebuilt without scripts/bootstrap.sh). Its Lambda asks kinesis-mock whether an
 * event source mapping's consumer exists (the streams are not in moto).
 */
async function startMoto(kinesisEndpoint: string): Promise<Emulator> {
  const check = spawnSync('bash', [join(REPO_ROOT, 'tools', 'moto', 'apply-patches.sh'), '--check'], {
    encoding: 'utf8',
  });
  if (check.status !== 0) throw new Error(`moto is not patched:\n${check.stderr}`);
  const started = Date.now();
  const moto = await startMotoServer({ env: { MOTO_LAMBDA_EXTERNAL_KINESIS_ENDPOINT: kinesisEndpoint } });
  return {
    name: 'moto',
    serves:
      'everything else (STS, IAM, KMS, SNS, SQS, S3, DynamoDB, Lambda, Firehose, Managed Flink, Timestream, OpenSearch, CloudWatch Logs)',
    version: `moto ${motoVersion()}`,
    endpoint: moto.endpoint,
    startSeconds: (Date.now() - started) / 1000,
    log: () => '',
    stop: () => moto.stop(),
  };
}

/** Starts the three emulators in parallel; if one fails, the others are stopped again. */
export async function startEmulators(): Promise<Emulators> {
  // kinesis-mock's port first: moto's Lambda is told where the streams are.
  const kinesisPort = await freePort();
  const results = await Promise.allSettled([
    startMoto(`http://127.0.0.1:${kinesisPort}`),
    startKinesisMock(kinesisPort),
    startKumo(),
  ]);
  const up = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.flatMap((r) =>
    r.status === 'rejected' ? [String((r.reason as Error).message ?? r.reason)] : [],
  );
  if (failed.length > 0) {
    await Promise.all(up.map((e) => e.stop()));
    throw new Error(`emulators did not start:\n${failed.join('\n')}`);
  }
  const [moto, kinesis, cloudwatch] = up;
  return {
    moto,
    kinesis,
    cloudwatch,
    env: {
      LOCAL_AWS_ENDPOINT_URL: moto.endpoint,
      LOCAL_KINESIS_ENDPOINT_URL: kinesis.endpoint,
      LOCAL_CLOUDWATCH_ENDPOINT_URL: cloudwatch.endpoint,
      // The AWS provider (tools/aws-provider/0001-emulator-fixed-waits.patch): its fixed SQS and
      // OpenSearch waits, there for AWS's eventual consistency and provisioning time, shortened
      // against the emulators (which answer consistently at once). Same checks, less sleep.
      TF_AWS_EMULATOR_WAITS: '1',
    },
    stopAll: async () => {
      await Promise.all(up.map((e) => e.stop()));
    },
  };
}
