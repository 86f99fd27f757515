/**
 * Security gate on what would really be applied: checkov 3.3.30 (`--framework terraform_plan`)
 * over `tofu show -json` of every component's real plan, for every deploy stack: `local` as it
 * is and dev/staging/prod with their own values, planned against the emulators with a local
 * backend (scripts/plan-summary/emulator-plans.ts). In addition to the scan of the synthesized
 * JSON (test/security/checkov.test.ts); the same rule: a failed check needs a skip annotation
 * next to the resource (components/shared/checkov.ts), stale skips fail. A check that fails only
 * here (the synthesized JSON holds a `${var…}` checkov passes) is skipped with `planOnly`: the
 * synthesized scan leaves such a skip to this test, which refuses it unless its check fails in
 * at least one stack's plan.
 *
 * Plan JSON carries no "//" annotations, so a finding is matched to the synthesized block by its
 * address (`type.name`, instance key dropped) in the component's main.tf.json.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atmosEnv } from '../scripts/lib/atmos';
import { startEmulators, type Emulators } from './emulators';
import { planStackAgainstEmulators, type EmulatorPlan } from '../scripts/plan-summary/emulator-plans';
import {
  CHECKOV_BIN,
  CHECKOV_GAP,
  skipAnnotations,
  type CheckovReport,
  type SkipAnnotation,
} from '../test/support/checkov';
import { synthesizedComponents } from '../test/support/components';
import { REPO_ROOT } from '../test/support/paths';

const STACKS = ['local', 'dev', 'staging', 'prod'] as const;

let emulators: Emulators | undefined;
let work = '';
const plans: EmulatorPlan[] = [];
let report: CheckovReport;
let stderr = '';

/** `aws_x.y["k"]` / `aws_x.y[0]` → `aws_x.y` (the synthesized block). */
const blockAddress = (a: string) => a.replace(/\[[^\]]*\]$/, '');

function annotations(component: string): Map<string, SkipAnnotation[]> {
  const tf = JSON.parse(readFileSync(join(REPO_ROOT, 'components', component, 'main.tf.json'), 'utf8')) as {
    resource?: Record<string, Record<string, Record<string, unknown>>>;
  };
  const out = new Map<string, SkipAnnotation[]>();
  for (const [type, blocks] of Object.entries(tf.resource ?? {}))
    for (const [name, body] of Object.entries(blocks)) out.set(`${type}.${name}`, skipAnnotations(body));
  return out;
}

beforeAll(async () => {
  emulators = await startEmulators();
  work = mkdtempSync(join(tmpdir(), 'checkov-plans-'));
  const env = atmosEnv({ ...emulators.env, TF_CLI_CONFIG_FILE: join(REPO_ROOT, '.tools', 'tofurc') });
  for (const stack of STACKS) {
    const t0 = Date.now();
    plans.push(
      ...(await planStackAgainstEmulators({ stack, env, workDir: join(work, 'work'), outDir: join(work, 'plans') })),
    );
    console.log(`planned ${stack} against the emulators in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  // asynchronously: a worker blocked for the minute checkov takes makes vitest's RPC time out
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(
      CHECKOV_BIN,
      [
        '--framework',
        'terraform_plan',
        '--directory',
        join(work, 'plans'),
        '--output',
        'json',
        '--compact',
        '--skip-download',
      ],
      {
        cwd: work,
        env: { ...process.env, BC_SKIP_MAPPING: 'TRUE', LOG_LEVEL: 'WARNING' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', fail);
    child.on('close', (status) =>
      done({ status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
  });
  if (r.status !== 0 && r.status !== 1)
    throw new Error(`checkov exited with ${r.status}:\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  const parsed = JSON.parse(r.stdout) as CheckovReport | CheckovReport[];
  report = (Array.isArray(parsed) ? parsed.find((x) => x.results) : parsed)!;
  for (const k of ['passed_checks', 'failed_checks', 'skipped_checks'] as const)
    (report.results as Record<string, unknown[]>)[k] ??= [];
  stderr = r.stderr;
}, 20 * 60_000);

afterAll(async () => {
  await emulators?.stopAll();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('checkov over the real plans of every deploy stack', () => {
  it('plans every component of every deploy stack against the emulators', () => {
    const failed = plans.filter((p) => p.error).map((p) => `${p.stack}/${p.component}: ${p.error}`);
    expect(failed).toEqual([]);
    expect(plans.length).toBe(STACKS.length * 10);
  });

  it('no failed check without an annotation, no stale annotation; counts per stack', () => {
    const fileOf = (path: string) => {
      const m = /^(local|dev|staging|prod)-(.+)\.json$/.exec(basename(path));
      if (!m) throw new Error(`unexpected file ${path}`);
      return { stack: m[1]!, component: m[2]! };
    };
    expect(report.summary.checkov_version).toBe('3.3.30');
    expect(report.summary.parsing_errors, stderr.slice(-3000)).toBe(0);
    expect(
      stderr
        .split('\n')
        .filter((l) => CHECKOV_GAP.test(l))
        .map((l) => l.slice(0, 300)),
    ).toEqual([]);
    const cache = new Map<string, Map<string, SkipAnnotation[]>>();
    const ann = (c: string) => cache.get(c) ?? cache.set(c, annotations(c)).get(c)!;
    const counts = new Map(STACKS.map((s) => [s as string, { passed: 0, failed: 0, skipped: 0 }]));
    const failed: string[] = [];
    const skipped: string[] = [];
    const failedAt = new Set<string>();
    const passedAt = new Set<string>();
    for (const r of report.results.passed_checks) {
      const { stack, component } = fileOf(r.file_abs_path);
      counts.get(stack)!.passed += 1;
      passedAt.add(`${stack}|${component}|${blockAddress(r.resource)}|${r.check_id}`);
    }
    for (const r of report.results.failed_checks) {
      const { stack, component } = fileOf(r.file_abs_path);
      const address = blockAddress(r.resource);
      failedAt.add(`${stack}|${component}|${address}|${r.check_id}`);
      const a = ann(component)
        .get(address)
        ?.find((s) => s.id === r.check_id);
      if (a) {
        counts.get(stack)!.skipped += 1;
        skipped.push(`${stack} ${component} ${r.resource} ${r.check_id}: ${a.comment}`);
      } else {
        counts.get(stack)!.failed += 1;
        failed.push(`${stack} ${component} ${r.resource} ${r.check_id} ${r.check_name}`);
      }
    }
    // Plan-only annotations are this scan's to judge: stale unless the check fails on that
    // resource in at least one stack's plan (passes everywhere, or the resource is in no plan).
    const failedAnywhere = new Set([...failedAt].map((k) => k.split('|').slice(1).join('|')));
    const planOnly = synthesizedComponents().flatMap((c) =>
      [...ann(c)].flatMap(([address, skips]) => skips.filter((s) => s.planOnly).map((s) => `${c}|${address}|${s.id}`)),
    );
    const stalePlanOnly = planOnly.filter((k) => !failedAnywhere.has(k));
    // Other annotations the plans do not need: the check passes on that resource in every stack's
    // plan; the scan of the synthesized JSON needs them and judges them
    // (test/security/checkov.test.ts), so they are listed, not failed.
    const stale = [...new Set([...passedAt].map((k) => k.split('|').slice(1).join('|')))].filter((k) => {
      const [component, address, id] = k.split('|') as [string, string, string];
      return (
        !failedAnywhere.has(k) &&
        ann(component)
          .get(address)
          ?.some((s) => s.id === id && !s.planOnly)
      );
    });
    console.log(
      [
        'checkov (terraform_plan) on the real plans, per stack: passed failed skipped',
        ...[...counts].map(
          ([s, c]) =>
            `  ${s.padEnd(8)} ${String(c.passed).padStart(6)} ${String(c.failed).padStart(6)} ${String(c.skipped).padStart(7)}`,
        ),
        'failed:',
        ...(failed.length ? failed.map((f) => `  ${f}`) : ['  (none)']),
        'skipped (annotation next to the resource):',
        ...[...new Set(skipped)].map((f) => `  ${f}`),
        "stale plan-only annotations (the check fails in no stack's plan):",
        ...(stalePlanOnly.length ? stalePlanOnly.map((f) => `  ${f}`) : ['  (none)']),
        'other annotations the plans do not need (the check passes in the plans of every stack):',
        ...(stale.length ? stale.map((f) => `  ${f}`) : ['  (none)']),
      ].join('\n'),
    );
    for (const s of STACKS) expect(counts.get(s)!.passed, `${s}: no checks ran`).toBeGreaterThan(0);
    expect(failed).toEqual([]);
    expect(planOnly.length, 'no plan-only annotation found: main.tf.json not synthesized?').toBeGreaterThan(0);
    expect(stalePlanOnly).toEqual([]);
    expect(stale).toEqual(['lambda-enrichment|aws_lambda_function.function|CKV_AWS_173']);
  });
});
