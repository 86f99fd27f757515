/**
 * The CDKTF app: `cdktf synth` runs this (see cdktf.json), and so does the fast path
 * `npm run synth`. Both end in components/<component>/main.tf.json.
 *
 * Optional arguments name the components to synthesize (default: all).
 */
import { relative } from 'node:path';
import { synthesizeAll } from './components/synth';

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const results = synthesizeAll({ only: only.length > 0 ? only : undefined });
for (const r of results) {
  process.stdout.write(`${r.changed ? 'wrote    ' : 'unchanged'} ${relative(process.cwd(), r.path)}\n`);
}
