#!/usr/bin/env node
// The fast synthesis path: `npm run synth [component ...]`; it also regenerates the component READMEs.
//
// Runs the same main.ts as `cdktf synth` (so both write the same JSON; a test checks it), but
// skips the cdktf-cli wrapper and tsx: esbuild bundles main.ts with cdktf and the provider
// classes it imports into one CommonJS file, and this process runs it. Loading one file is
// much faster than resolving hundreds of small modules, and the bundle is rebuilt only when
// main.ts, a component source or package-lock.json is newer than it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, '.tools', 'synth', 'app.cjs');

/** Newest modification time of the bundle's inputs. */
function newestInput() {
  let newest = Math.max(statSync(join(root, 'main.ts')).mtimeMs, statSync(join(root, 'package-lock.json')).mtimeMs);
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (entry.name !== 'dist' && !entry.name.startsWith('.')) walk(join(dir, entry.name));
      } else if (entry.name.endsWith('.ts')) {
        newest = Math.max(newest, statSync(join(dir, entry.name)).mtimeMs);
      }
    }
  };
  walk(join(root, 'components'));
  // lambda-enrichment takes the handler's environment contract from lambda-src/src/config.ts.
  walk(join(root, 'lambda-src', 'src'));
  return newest;
}

if (!existsSync(bundle) || statSync(bundle).mtimeMs < newestInput()) {
  const { buildSync } = await import('esbuild');
  buildSync({
    entryPoints: [join(root, 'main.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    logLevel: 'warning',
  });
}
createRequire(import.meta.url)(bundle);

// Then the component READMEs (scripts/component-readmes.ts), from the JSON just written; bundled
// the same way (it only reads files, so the bundle is tiny).
const readmes = join(root, '.tools', 'synth', 'component-readmes.cjs');
const readmesSource = join(root, 'scripts', 'component-readmes.ts');
if (!existsSync(readmes) || statSync(readmes).mtimeMs < statSync(readmesSource).mtimeMs) {
  const { buildSync } = await import('esbuild');
  buildSync({
    entryPoints: [readmesSource],
    outfile: readmes,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    logLevel: 'warning',
  });
}
createRequire(import.meta.url)(readmes).main(root);
