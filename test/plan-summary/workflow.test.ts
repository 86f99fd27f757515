/**
 * The example pull-request workflow (.github/workflows/plan-summary.yml) under actionlint
 * (github.com/rhysd/actionlint v1.7.12, built from the Go module proxy into .tools/bin), and its
 * contract with the script: it runs `atmos plan-summary -s <stack>` for every deploy stack and
 * posts the file the script writes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/paths';

const ACTIONLINT = join(REPO_ROOT, '.tools', 'bin', 'actionlint');
const WORKFLOW = join(REPO_ROOT, '.github', 'workflows', 'plan-summary.yml');
const text = readFileSync(WORKFLOW, 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'actionlint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function actionlint(file: string) {
  if (!existsSync(ACTIONLINT)) throw new Error(`actionlint not found at ${ACTIONLINT}: run scripts/bootstrap.sh`);
  // -shellcheck= / -pyflakes=: no optional linters from PATH, the same result on every machine
  const r = spawnSync(ACTIONLINT, ['-no-color', '-shellcheck=', '-pyflakes=', file], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('the plan-summary pull-request workflow', () => {
  it('is the pinned actionlint', () => {
    const r = spawnSync(ACTIONLINT, ['-version'], { encoding: 'utf8' });
    expect(r.stdout.split('\n')[0]).toBe('v1.7.12');
  });

  it('passes actionlint with no finding', () => {
    const r = actionlint(WORKFLOW);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('actionlint does catch a broken copy (a wrong matrix key, an unknown action input)', () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(
      bad,
      text
        .replace('STACK: ${{ matrix.stack }}', 'STACK: ${{ matrix.stak }}')
        .replace('node-version-file: .node-version', 'node-version-files: .node-version'),
    );
    const r = actionlint(bad);
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/property "stak" is not defined in object type \{stack: string\}/);
    expect(r.output).toMatch(/input "node-version-files" is not defined in action "actions\/setup-node@v4"/);
  });

  it('plans every deploy stack with atmos plan-summary and posts the report the script writes', () => {
    const stacks = /stack: \[([^\]]+)\]/
      .exec(text)?.[1]
      ?.split(',')
      .map((s) => s.trim());
    expect(stacks).toEqual(['dev', 'staging', 'prod']);
    expect(text).toContain('atmos plan-summary -s "$STACK"');
    expect(text).toContain('npm run synth');
    const script = readFileSync(join(REPO_ROOT, 'scripts', 'plan-summary.ts'), 'utf8');
    expect(script).toContain("join(ROOT, '.tools', 'reports', `plan-summary-${stack}.md`)");
    expect(text).toContain('.tools/reports/plan-summary-${STACK}.md');
    expect(text).toContain('.tools/reports/plan-summary-${STACK}');
  });
});
