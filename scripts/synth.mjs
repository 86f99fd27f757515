#!/usr/bin/env node
// The fast synthesis path: `npm run synth [component ...]`.
//
// Runs the same main.ts as `cdktf synth` (so both write the same JSON), but skips the
// cdktf-cli wrapper and tsx: esbuild compiles the project's own TypeScript (packages stay
// external) into one CommonJS file, and this process runs it.
import { buildSync } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, '.tools', 'synth', 'main.cjs');
buildSync({
  entryPoints: [join(root, 'main.ts')],
  outfile,
  bundle: true,
  packages: 'external',
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
});
createRequire(import.meta.url)(outfile);
