/** Running the real Atmos CLI (built by scripts/bootstrap.sh) in tests. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths';

export const ATMOS_BIN = join(REPO_ROOT, '.tools', 'bin', 'atmos');
export const DEPLOY_STACKS = ['local', 'dev', 'staging', 'prod'] as const;

export interface AtmosResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs atmos with the given arguments from `cwd` (default: the repo root). */
export function atmos(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): AtmosResult {
  if (!existsSync(ATMOS_BIN)) throw new Error(`atmos not found at ${ATMOS_BIN}: run scripts/bootstrap.sh first`);
  const result = spawnSync(ATMOS_BIN, [...args], {
    cwd: options.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      ATMOS_TELEMETRY_ENABLED: 'false',
      ATMOS_VERSION_CHECK_ENABLED: 'false',
      NO_COLOR: '1',
      ...options.env,
    },
    timeout: 120_000,
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Runs atmos and parses its JSON output; throws with stderr when it fails. */
export function atmosJson<T>(args: readonly string[], options: { cwd?: string } = {}): T {
  const r = atmos(args, options);
  if (r.status !== 0) throw new Error(`atmos ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}
