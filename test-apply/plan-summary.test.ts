/**
 * `atmos plan-summary -s local` for real: Atmos + OpenTofu + the AWS provider (offline mirror,
 * .tools/tofurc) against the apply tier's emulators (test-apply/emulators.ts: moto, kinesis-mock,
 * kumo on 127.0.0.1). Only kinesis-ingest is applied (its consumers are what the two EFO
 * readers' data sources look up at plan time); every other component is planned from empty.
 *
 *  1. after the apply, the whole stack: kinesis-ingest has no changes, the others only add,
 *     nothing flagged, exit 0; the report file holds the printed table;
 *  2. a rename of the stream (var file): flagged as a store replacement forced by `name`, exit 2;
 *  3. with deletion_protection applied, the same rename while turning protection off: flagged as
 *     refused by the guard (it reads its stored value), and a real apply of that plan's inputs is
 *     indeed refused; a `--destroy` summary flags the stream's deletion as refused too.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atmosEnv, QUIET_TOFU_ENV } from '../scripts/lib/atmos';
import { startEmulators, type Emulators } from './emulators';
import { REPO_ROOT } from '../test/support/paths';

const ATMOS = join(REPO_ROOT, '.tools', 'bin', 'atmos');
const STATE = join(REPO_ROOT, '.state', 'local', 'kinesis-ingest');
const REPORT = join(REPO_ROOT, '.tools', 'reports', 'plan-summary-local.md');
const STREAM = 'acme-ue1-local-ingest';

let emulators: Emulators | undefined;
let env: NodeJS.ProcessEnv;
let dir = '';

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** Runs a command from the repo root, asynchronously (vitest's RPC must not starve). */
function run(cmd: string, args: readonly string[]): Promise<Run> {
  const t0 = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(cmd, [...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ status: code ?? -1, stdout, stderr, seconds: (Date.now() - t0) / 1000 }));
  });
}

const summary = (...args: string[]) =>
  run(process.execPath, [
    join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
    'scripts/plan-summary.ts',
    '-s',
    'local',
    ...args,
  ]);
const applyIngest = (...extra: string[]) =>
  run(ATMOS, ['terraform', 'apply', 'kinesis-ingest', '-s', 'local', '-auto-approve', '-no-color', ...extra]);

function varFile(name: string, vars: Record<string, unknown>): string {
  const file = join(dir, `${name}.tfvars.json`);
  writeFileSync(file, JSON.stringify(vars));
  return file;
}

interface Result {
  component: string;
  error?: string;
  summary?: {
    counts: Record<'add' | 'change' | 'destroy' | 'replace', number>;
    flags: { kind: string; address: string; action: string; forcedBy?: string[]; text: string }[];
  };
}
const reportJson = () =>
  JSON.parse(readFileSync(REPORT.replace(/\.md$/, '.json'), 'utf8')) as { exitCode: number; results: Result[] };
const flagsOf = (r: Result[]) =>
  r.flatMap((x) => (x.summary?.flags ?? []).map((f) => [x.component, f.kind, f.address, f.action, f.forcedBy ?? null]));
const tail = (r: Run) => `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;

beforeAll(async () => {
  const tofurc = join(REPO_ROOT, '.tools', 'tofurc');
  if (!existsSync(ATMOS)) throw new Error(`atmos not found at ${ATMOS}: run scripts/bootstrap.sh`);
  if (!existsSync(tofurc))
    throw new Error(`no ${tofurc} (AWS provider mirror): run scripts/bootstrap.sh (scripts/build-aws-provider.sh)`);
  // The two artifacts the plans hash (filemd5/filebase64sha256 in lambda-enrichment, kinesis-analytics).
  for (const [file, script] of [
    ['components/lambda-enrichment/dist/enrichment.zip', 'build:lambda'],
    ['components/kinesis-analytics/dist/flink-aggregator.jar', 'build:flink'],
  ] as const) {
    if (existsSync(join(REPO_ROOT, file))) continue;
    env = process.env; // (asynchronously: a minute-long Maven build must not block the worker)
    const b = await run('npm', ['run', '--silent', script]);
    if (b.status !== 0) throw new Error(`npm run ${script} failed:\n${b.stdout}\n${b.stderr}`);
  }
  emulators = await startEmulators();
  env = atmosEnv({
    ...emulators.env,
    TF_CLI_CONFIG_FILE: tofurc,
    PATH: `${join(REPO_ROOT, '.tools', 'bin')}:${process.env.PATH}`,
    ...QUIET_TOFU_ENV,
  });
  dir = mkdtempSync(join(tmpdir(), 'plan-summary-'));
  // A fresh state for the one component this test applies (the emulators start empty).
  rmSync(STATE, { recursive: true, force: true });
  // Twice: the consumers' tags_all show as drift after the first apply and a second apply
  // converges (kinesis-mock; the apply tier's KNOWN_DRIFT for kinesis-ingest).
  for (let i = 0; i < 2; i++) {
    const r = await applyIngest();
    expect(r.status, `apply kinesis-ingest:\n${tail(r)}`).toBe(0);
  }
}, 10 * 60_000);

afterAll(async () => {
  // The resources die with the emulators; their state must not outlive them.
  rmSync(STATE, { recursive: true, force: true });
  await emulators?.stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.sequential('atmos plan-summary -s local (real plans against the emulators)', () => {
  it(
    'after an apply: no changes there, only additions elsewhere, nothing flagged, exit 0',
    async () => {
      const r = await run(ATMOS, ['plan-summary', '-s', 'local']);
      console.log(`plan-summary -s local (whole stack): ${r.seconds.toFixed(1)} s wall\n${r.stdout}`);
      expect(r.status, tail(r)).toBe(0);
      const { exitCode, results } = reportJson();
      expect(exitCode).toBe(0);
      const order = results.map((x) => x.component);
      expect([...order].sort()).toEqual([
        'dynamodb-lookup',
        'firehose-opensearch',
        'firehose-s3',
        'kinesis-analytics',
        'kinesis-ingest',
        'kinesis-output',
        'lambda-enrichment',
        'monitoring',
        'opensearch',
        'timestream',
      ]);
      // dependency order: every component after what its settings.depends_on names
      expect(order[0]).toBe('monitoring');
      expect(order.indexOf('lambda-enrichment')).toBeGreaterThan(
        Math.max(order.indexOf('kinesis-ingest'), order.indexOf('kinesis-output'), order.indexOf('dynamodb-lookup')),
      );
      expect(order.indexOf('firehose-opensearch')).toBeGreaterThan(order.indexOf('opensearch'));
      expect(order.indexOf('kinesis-analytics')).toBeGreaterThan(order.indexOf('timestream'));
      for (const x of results) {
        expect(x.error, `${x.component}: ${x.error}`).toBeUndefined();
        const c = x.summary!.counts;
        if (x.component === 'kinesis-ingest') expect(c).toEqual({ add: 0, change: 0, destroy: 0, replace: 0 });
        else expect({ ...c, add: c.add > 0 }, x.component).toEqual({ add: true, change: 0, destroy: 0, replace: 0 });
      }
      expect(flagsOf(results)).toEqual([]);
      expect(r.stdout).toContain('Nothing flagged.');
      expect(r.stdout).toMatch(/^\| kinesis-ingest \| 0 \| 0 \| 0 \| 0 \| no changes \|$/m);
      // the file a CI job posts is the table printed
      expect(readFileSync(REPORT, 'utf8')).toBe(r.stdout);
    },
    10 * 60_000,
  );

  it(
    'a stream rename is flagged as a store replacement forced by name (exit 2)',
    async () => {
      const rename = varFile('rename', { name: 'ingest-renamed' });
      const r = await summary('--components', 'kinesis-ingest', '--var-file', `kinesis-ingest=${rename}`);
      console.log(r.stdout);
      expect(r.status, tail(r)).toBe(2);
      const { exitCode, results } = reportJson();
      expect(exitCode).toBe(2);
      expect(flagsOf(results)).toEqual([['kinesis-ingest', 'store', 'aws_kinesis_stream.stream', 'replace', ['name']]]);
      expect(r.stdout).toContain(`aws_kinesis_stream.stream (Kinesis stream ${STREAM}) replaced, forced by name`);
      expect(results[0]!.summary!.counts.replace).toBeGreaterThanOrEqual(2); // the stream and its guard (and the consumers)
    },
    5 * 60_000,
  );

  it(
    'with protection applied: the rename and a destroy are flagged as refused, and the apply is refused',
    async () => {
      const on = varFile('protect', { deletion_protection: true });
      let r = await applyIngest(`-var-file=${on}`);
      expect(r.status, tail(r)).toBe(0);
      expect(r.stdout).toMatch(/Apply complete! Resources: 0 added, 1 changed, 0 destroyed/); // the guard's input only

      // Protection off in the same change does not help: the guard is replaced with its stored value.
      const renameOff = varFile('rename-off', { name: 'ingest-renamed', deletion_protection: false });
      r = await summary('--components', 'kinesis-ingest', '--var-file', `kinesis-ingest=${renameOff}`);
      console.log(r.stdout);
      expect(r.status, tail(r)).toBe(2);
      expect(flagsOf(reportJson().results)).toEqual([
        ['kinesis-ingest', 'store', 'aws_kinesis_stream.stream', 'replace', ['name']],
        ['kinesis-ingest', 'refused', 'terraform_data.stream_deletion_guard', 'replace', null],
      ]);
      expect(r.stdout).toContain(
        `terraform_data.stream_deletion_guard: deletion guard refuses (replaced while deletion_protection is true in the state): Kinesis stream ${STREAM}`,
      );

      r = await summary('--components', 'kinesis-ingest', '--destroy', '--var-file', `kinesis-ingest=${on}`);
      expect(r.status, tail(r)).toBe(2);
      expect(flagsOf(reportJson().results)).toEqual([
        ['kinesis-ingest', 'store', 'aws_kinesis_stream.stream', 'destroy', null],
        ['kinesis-ingest', 'refused', 'terraform_data.stream_deletion_guard', 'destroy', null],
      ]);

      // The flag tells the truth: applying those inputs stops at the guard, the stream stays.
      r = await applyIngest(`-var-file=${renameOff}`);
      expect(r.status).not.toBe(0);
      expect(`${r.stdout}${r.stderr}`.replace(/\s+/g, ' ')).toContain(
        `Refusing to destroy Kinesis stream ${STREAM}: deletion_protection is true`,
      );
      const show = await run(ATMOS, ['terraform', 'state', 'list', 'kinesis-ingest', '-s', 'local']);
      expect(show.stdout).toMatch(/^aws_kinesis_stream\.stream$/m);
    },
    10 * 60_000,
  );
});
