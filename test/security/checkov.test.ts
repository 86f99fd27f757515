/**
 * Security gate: checkov (`--framework terraform_json`) over every synthesized component, in one
 * checkov process. Zero failed checks; a check that does not apply to a resource is skipped next
 * to that resource with components/shared/checkov.ts `skipCheck(resource, id, reason)` — there
 * is no global skip list. Prints per component passed/failed/skipped, every skip with its reason,
 * and every failure.
 *
 * A fixture stack (built here with skipCheck) is scanned by the same checkov run and proves the
 * annotation path end to end: an annotated failure is skipped with its reason, an unannotated one
 * fails, an annotation on a check that does not fail is reported as stale, a plan-only one is
 * not (test-apply/checkov-plans.test.ts judges it on the stacks' plans) unless its check fails
 * here too (then it is wrongly marked plan-only).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { Testing, TerraformStack } from 'cdktf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipCheck, skippedChecks } from '../../components/shared/checkov';
import {
  CHECKOV_GAP,
  evaluate,
  runCheckov,
  writeScanCopy,
  type CheckovReport,
  type Evaluation,
  type Finding,
} from '../support/checkov';
import { COMPONENTS_DIR, synthesizedComponents } from '../support/components';

const components = synthesizedComponents();
let work: string;
let report: CheckovReport;
let stderr: string;
const scanChanges = new Map<string, string[]>();
const componentFiles = new Map<string, { tf: Record<string, unknown>; text: string }>();
const fixtureFiles = new Map<string, { tf: Record<string, unknown>; text: string }>();
const fileOf = new Map<string, string>();

/** A tiny stack: five unencrypted-or-not queues and the skip annotations under test. */
function fixtureStack(): Record<string, unknown> {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'checkov-fixture');
  // like every component: checkov 3.3.30 needs the scan copy without it (see test/support/checkov.ts)
  stack.addOverride('terraform.required_version', '>= 1.6.0');
  new AwsProvider(stack, 'aws', { region: 'us-east-1' });
  // CKV_AWS_27 (SQS encryption) fails on both unencrypted queues; only one carries the annotation.
  const annotated = new SqsQueue(stack, 'annotated', { name: 'annotated' });
  skipCheck(annotated, 'CKV_AWS_27', 'fixture: encryption deliberately off to prove the annotation');
  new SqsQueue(stack, 'plain', { name: 'plain' });
  // an encrypted queue with an annotation for the check it passes: stale
  const encrypted = new SqsQueue(stack, 'encrypted', { name: 'encrypted', sqsManagedSseEnabled: true });
  skipCheck(encrypted, 'CKV_AWS_27', 'fixture: this annotation is not needed and must be reported');
  // plan-only: not stale when the check passes here; refused when it fails here
  const planOnly = new SqsQueue(stack, 'plan_only', { name: 'plan-only', sqsManagedSseEnabled: true });
  skipCheck(planOnly, 'CKV_AWS_27', 'fixture: needed by the plans only, not stale here', { planOnly: true });
  const notPlanOnly = new SqsQueue(stack, 'not_plan_only', { name: 'not-plan-only' });
  skipCheck(notPlanOnly, 'CKV_AWS_27', 'fixture: fails here too, so wrongly marked plan-only', { planOnly: true });
  expect(skippedChecks(annotated)).toHaveLength(1);
  return JSON.parse(JSON.stringify(stack.toTerraform())) as Record<string, unknown>;
}

function table(ev: Evaluation): string {
  const lines = ['checkov (terraform_json) per component:', `  ${'component'.padEnd(22)} passed failed skipped`];
  const count = (list: Finding[], c: string) => list.filter((f) => fileOf.get(f.file) === c).length;
  for (const c of components) {
    lines.push(
      `  ${c.padEnd(22)} ${String(count(ev.passed, c)).padStart(6)} ${String(count(ev.failed, c)).padStart(6)} ${String(count(ev.skipped, c)).padStart(7)}`,
    );
  }
  lines.push(
    `  ${'total'.padEnd(22)} ${String(ev.passed.length).padStart(6)} ${String(ev.failed.length).padStart(6)} ${String(ev.skipped.length).padStart(7)}`,
  );
  lines.push('skipped checks (annotation next to the resource):');
  if (ev.skipped.length === 0) lines.push('  (none)');
  for (const f of ev.skipped) lines.push(`  ${fileOf.get(f.file)} ${f.address} ${f.checkId} "${f.title}": ${f.reason}`);
  lines.push('failed checks:');
  if (ev.failed.length === 0) lines.push('  (none)');
  for (const f of ev.failed) lines.push(`  ${fileOf.get(f.file)} ${f.address} ${f.checkId} "${f.title}"`);
  if (ev.staleSkips.length > 0) {
    lines.push('stale skip annotations (the check does not fail there):');
    for (const f of ev.staleSkips) lines.push(`  ${fileOf.get(f.file)} ${f.address} ${f.checkId}: ${f.reason}`);
  }
  if (ev.notPlanOnly.length > 0) {
    lines.push('plan-only skip annotations whose check fails here (drop planOnly):');
    for (const f of ev.notPlanOnly) lines.push(`  ${fileOf.get(f.file)} ${f.address} ${f.checkId}: ${f.reason}`);
  }
  lines.push('scan copies (checkov 3.3.30 workarounds, see test/support/checkov.ts):');
  for (const [c, changes] of scanChanges) if (changes.length > 0) lines.push(`  ${c}: ${changes.join('; ')}`);
  return lines.join('\n');
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'checkov-'));
  for (const c of components) {
    const tf = JSON.parse(readFileSync(join(COMPONENTS_DIR, c, 'main.tf.json'), 'utf8')) as Record<string, unknown>;
    const path = join(work, 'components', c, 'main.tf.json');
    scanChanges.set(c, writeScanCopy(tf, path));
    componentFiles.set(path, { tf, text: readFileSync(path, 'utf8') });
    fileOf.set(path, c);
  }
  const fixture = fixtureStack();
  const fixturePath = join(work, 'fixture', 'main.tf.json');
  writeScanCopy(fixture, fixturePath);
  fixtureFiles.set(fixturePath, { tf: fixture, text: readFileSync(fixturePath, 'utf8') });
  fileOf.set(fixturePath, 'fixture');
  ({ report, stderr } = await runCheckov(work));
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('checkov over the synthesized components', () => {
  it('parses every component (no parsing errors) and runs checks on each', () => {
    expect(components.length).toBeGreaterThan(0);
    expect(report.summary.checkov_version).toBe('3.3.30');
    expect(report.summary.parsing_errors, stderr.slice(-3000)).toBe(0);
    // a check that crashed or a block left out of the graph is a silent gap: refuse it
    const gaps = stderr
      .split('\n')
      .filter((l) => CHECKOV_GAP.test(l))
      .map((l) => l.slice(0, 300));
    expect(gaps).toEqual([]);
    const all = [...report.results.passed_checks, ...report.results.failed_checks, ...report.results.skipped_checks];
    for (const c of components) {
      expect(
        all.some((r) => fileOf.get(r.file_abs_path) === c),
        `no checkov results for ${c}`,
      ).toBe(true);
    }
  });

  it('has no failed check without a skip annotation, and no stale annotation', () => {
    const ev = evaluate(report, componentFiles);
    console.log(table(ev));
    const show = (f: Finding) => `${fileOf.get(f.file)} ${f.address} ${f.checkId} ${f.title}`;
    expect(ev.failed.map(show)).toEqual([]);
    expect(ev.staleSkips.map(show)).toEqual([]);
    expect(ev.notPlanOnly.map(show)).toEqual([]);
  });
});

describe('checkov skip annotations (skipCheck fixture, same checkov run)', () => {
  it('skips an annotated failure with its reason, fails an unannotated one, reports a stale annotation', () => {
    const ev = evaluate(report, fixtureFiles);
    const of = (list: Finding[]) =>
      list.filter((f) => f.checkId === 'CKV_AWS_27').map((f) => [f.address, f.reason ?? null]);
    expect(of(ev.skipped)).toEqual([
      ['aws_sqs_queue.annotated', 'fixture: encryption deliberately off to prove the annotation'],
      ['aws_sqs_queue.not_plan_only', 'fixture: fails here too, so wrongly marked plan-only'],
    ]);
    expect(of(ev.failed)).toEqual([['aws_sqs_queue.plain', null]]);
    // the plan-only annotation on the encrypted plan_only queue is neither stale nor refused here
    expect(of(ev.staleSkips)).toEqual([
      ['aws_sqs_queue.encrypted', 'fixture: this annotation is not needed and must be reported'],
    ]);
    expect(of(ev.notPlanOnly)).toEqual([
      ['aws_sqs_queue.not_plan_only', 'fixture: fails here too, so wrongly marked plan-only'],
    ]);
    // checkov 3.3.30 itself ignores the annotation: it reports the annotated queues as failed
    expect(
      report.results.failed_checks.filter((r) => r.check_id === 'CKV_AWS_27' && r.file_abs_path.includes('fixture')),
    ).toHaveLength(3);
  });

  it('refuses malformed skips', () => {
    const stack = new TerraformStack(Testing.app(), 'bad');
    const q = new SqsQueue(stack, 'q', { name: 'q' });
    expect(() => skipCheck(q, 'AWS_27', 'a reason that is long enough')).toThrow(/not a checkov check id/);
    expect(() => skipCheck(q, 'CKV_AWS_27', 'n/a')).toThrow(/concrete reason/);
    skipCheck(q, 'CKV_AWS_27', 'a reason that is long enough');
    expect(() => skipCheck(q, 'CKV_AWS_27', 'a reason that is long enough')).toThrow(/already skipped/);
  });
});
