/**
 * The deletion guard (components/shared/deletion-guard.ts), exercised by the real OpenTofu with
 * only its built-in provider: the guard block exactly as kinesis-ingest synthesizes it, in front
 * of a built-in stand-in for the stream. With deletion_protection on, destroy and replacement
 * fail and the stand-in survives; turning protection off is an in-place update, after which
 * destroy succeeds.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readComponent } from '../support/synth';
import { offlineEnv, run } from '../support/tofu';

const tf = readComponent('kinesis-ingest');
const guard = JSON.parse(
  JSON.stringify(tf.resource!.terraform_data!.stream_deletion_guard)
    .replaceAll('aws_kinesis_stream.stream.arn', 'terraform_data.stream.output')
    .replaceAll('aws_kinesis_stream.stream.name', 'terraform_data.stream.output'),
) as Record<string, unknown>;
delete guard['//'];

describe('deletion guard (real OpenTofu, built-in provider only)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'guard-'));
  const root = join(dir, 'root');
  mkdirSync(root);
  writeFileSync(join(dir, 'empty.tofurc'), '');
  mkdirSync(join(dir, 'no-plugins'));
  const env = offlineEnv(join(dir, 'empty.tofurc'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (streamIdentity: string) =>
    writeFileSync(
      join(root, 'main.tf.json'),
      JSON.stringify({
        variable: { deletion_protection: tf.variable.deletion_protection },
        resource: { terraform_data: { stream: { input: streamIdentity }, stream_deletion_guard: guard } },
      }),
    );
  const tofu = (...args: string[]) => run([...args, '-no-color', '-input=false'], root, env);
  const vars = (protect: boolean) => [`-var=deletion_protection=${protect}`];
  const state = () => run(['state', 'list'], root, env).stdout.trim().split('\n').filter(Boolean).sort();

  it('initialises with no provider download', () => {
    write('stream-v1');
    const init = run(
      ['init', '-backend=false', '-input=false', '-no-color', `-plugin-dir=${join(dir, 'no-plugins')}`],
      root,
      env,
    );
    expect(init.status, init.stdout + init.stderr).toBe(0);
    const apply = tofu('apply', '-auto-approve', ...vars(true));
    expect(apply.status, apply.stdout + apply.stderr).toBe(0);
  });

  it('refuses destroy while protected, naming the variable, and keeps the stream', () => {
    const destroy = tofu('destroy', '-auto-approve', ...vars(true));
    expect(destroy.status).not.toBe(0);
    expect(destroy.stdout + destroy.stderr).toMatch(
      /Refusing to destroy Kinesis stream stream-v1: deletion_protection is true/,
    );
    expect(state()).toContain('terraform_data.stream');
  });

  it('refuses a replacement of the stream while protected', () => {
    write('stream-v2');
    const apply = tofu('apply', '-auto-approve', ...vars(true));
    expect(apply.status).not.toBe(0);
    expect(apply.stdout + apply.stderr).toMatch(/Refusing to destroy/);
  });

  it('turning protection off is an in-place update; then destroy succeeds', () => {
    write('stream-v1');
    const plan = tofu('plan', '-detailed-exitcode', ...vars(false));
    expect(plan.stdout).toMatch(/terraform_data\.stream_deletion_guard will be updated in-place/);
    expect(plan.stdout).not.toMatch(/must be replaced/);
    const off = tofu('apply', '-auto-approve', ...vars(false));
    expect(off.status, off.stdout + off.stderr).toBe(0);
    const destroy = tofu('destroy', '-auto-approve', ...vars(false));
    expect(destroy.status, destroy.stdout + destroy.stderr).toBe(0);
    expect(state()).toEqual([]);
  });
});
