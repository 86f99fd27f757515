/**
 * The repository root, found without any dependency, so that bundles and scripts that must not
 * load CDKTF (the README generator) can use it as well as components/synth.ts.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The nearest folder upwards from `start` holding atmos.yaml (works from a bundle too). */
export function findRepoRoot(start: string = __dirname): string {
  let dir = resolve(start);
  while (!existsSync(join(dir, 'atmos.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no atmos.yaml found above ${start}`);
    dir = parent;
  }
  return dir;
}
