/** The synthesized components, found by their output: components/<name>/main.tf.json. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths';

export const COMPONENTS_DIR = join(REPO_ROOT, 'components');

/** Every component folder that holds a synthesized main.tf.json, sorted (new components are picked up automatically). */
export function synthesizedComponents(): string[] {
  return readdirSync(COMPONENTS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(COMPONENTS_DIR, d.name, 'main.tf.json')))
    .map((d) => d.name)
    .sort();
}
