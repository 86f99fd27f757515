/** Running the real Atmos CLI (built by scripts/bootstrap.sh) in tests. */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { atmosEnv } from '../../scripts/lib/atmos';
import { REPO_ROOT } from './paths';

export const ATMOS_BIN = join(REPO_ROOT, '.tools', 'bin', 'atmos');
export const DEPLOY_STACKS = ['local', 'dev', 'staging', 'prod'] as const;

export interface AtmosResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs atmos with the given arguments from `cwd` (default: the repo root). Asynchronous on
 * purpose: a synchronous spawn blocks the test worker, and a block of a minute (Atmos on a
 * loaded machine) makes vitest's own worker RPC time out ("Timeout calling onTaskUpdate").
 */
export function atmos(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<AtmosResult> {
  if (!existsSync(ATMOS_BIN)) throw new Error(`atmos not found at ${ATMOS_BIN}: run scripts/bootstrap.sh first`);
  return new Promise((resolve) => {
    execFile(
      ATMOS_BIN,
      [...args],
      {
        cwd: options.cwd ?? REPO_ROOT,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        timeout: options.timeoutMs ?? 240_000,
        env: atmosEnv(options.env),
      },
      (error, stdout, stderr) =>
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** Runs atmos and parses its JSON output; throws with stderr when it fails. */
export async function atmosJson<T>(args: readonly string[], options: { cwd?: string } = {}): Promise<T> {
  const r = await atmos(args, options);
  if (r.status !== 0) throw new Error(`atmos ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * The synchronous form, only for a short look-up at a test file's top level (where there is no
 * await), e.g. `atmos describe component` of one component.
 */
export function atmosJsonSync<T>(args: readonly string[], options: { cwd?: string } = {}): T {
  if (!existsSync(ATMOS_BIN)) throw new Error(`atmos not found at ${ATMOS_BIN}: run scripts/bootstrap.sh first`);
  const r = spawnSync(ATMOS_BIN, [...args], {
    cwd: options.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    env: atmosEnv(),
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`atmos ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * The messages `atmos validate component` printed for failing OPA policies: the lines under its
 * "# Error" heading, trimmed, one message per line (the generated policies end each message with
 * a paragraph break so that Atmos' Markdown rendering keeps them apart). Empty when it passed.
 */
export function atmosValidationMessages(output: string): string[] {
  const parts = output.split(/^\s*# Error\s*$/m);
  if (parts.length < 2) return [];
  return parts
    .slice(1)
    .join('\n')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}
