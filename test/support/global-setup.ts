/**
 * Runs once before all test files: synthesizes every component (the fast path) so that tests
 * read the same components/<component>/main.tf.json that Atmos would use.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'scripts', 'synth.mjs')], { cwd: root, stdio: 'inherit' });
}
