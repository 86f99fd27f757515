#!/usr/bin/env node
// The CDK Terrain path: `npm run synth:cdktn [component ...]` (node tools/cdktn/synth.mjs).
//
// Synthesizes the library unchanged against CDK Terrain: esbuild bundles tools/cdktn/app.ts (the
// same synthesizeAll that main.ts runs) with its imports redirected
//   cdktf                      -> cdktn                      (tools/cdktn/node_modules)
//   @cdktf/provider-aws/lib/*  -> @cdktn/provider-aws/lib/*  (the same deep paths and class names)
//   constructs                 -> constructs 10.7.x          (the range cdktn 0.24 asks for)
// so the components' sources keep their cdktf imports, and both frameworks load from one bundle.
// The versions come from tools/cdktn/package-lock.json (installed by scripts/bootstrap.sh).
//
// Options:
//   --framework cdktn|cdktf   which framework the bundle links (default cdktn); `cdktf` builds the
//                             same entry against the root node_modules, for comparisons
//   --time                    print bundle and synth wall times (ms) to stderr
//   --rebuild                 rebuild the bundle even when it is newer than all its inputs
// The environment variables of app.ts choose the output folders (default: the repository's).
import { buildSync } from 'esbuild';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const FRAMEWORKS = ['cdktn', 'cdktf'];

const args = process.argv.slice(2);
let framework = 'cdktn';
const fi = args.indexOf('--framework');
if (fi >= 0) {
  framework = args[fi + 1];
  args.splice(fi, 2);
}
if (!FRAMEWORKS.includes(framework)) {
  console.error(`--framework: "${framework}" is not one of ${FRAMEWORKS.join(', ')}`);
  process.exit(2);
}
const time = args.includes('--time');

/** esbuild aliases for the framework; resolved from absWorkingDir (esbuild's rule for aliases). */
function aliases() {
  if (framework === 'cdktf') return { workdir: root, alias: {} };
  const modules = join(here, 'node_modules');
  for (const pkg of ['cdktn', '@cdktn/provider-aws', 'constructs']) {
    if (!existsSync(join(modules, pkg, 'package.json'))) {
      console.error(`tools/cdktn/node_modules/${pkg} is missing: run 'bash scripts/bootstrap.sh'`);
      process.exit(1);
    }
  }
  return {
    workdir: here,
    alias: { cdktf: 'cdktn', '@cdktf/provider-aws': '@cdktn/provider-aws', constructs: 'constructs' },
  };
}

const started = performance.now();
const bundle = join(root, '.tools', 'synth', `app-${framework}.cjs`);
const inputsFile = `${bundle}.inputs.json`;

/**
 * Whether the bundle is older than any file that went into it (the list the last build wrote),
 * than this script or than either lock file (npm keeps the tarballs' old mtimes, so a package
 * upgrade shows only there): then it is rebuilt. A new import in a changed file is covered, as
 * that file changed. --rebuild forces a build (the benchmark measures both).
 */
function stale() {
  if (args.includes('--rebuild') || !existsSync(bundle) || !existsSync(inputsFile)) return true;
  const built = statSync(bundle).mtimeMs;
  const inputs = JSON.parse(readFileSync(inputsFile, 'utf8')).map((p) => join(root, p));
  const locks = [join(root, 'package-lock.json'), join(here, 'package-lock.json')];
  return [fileURLToPath(import.meta.url), ...locks, ...inputs].some(
    (p) => !existsSync(p) || statSync(p).mtimeMs > built,
  );
}

const rebuilt = stale();
if (rebuilt) {
  const { workdir, alias } = aliases();
  const result = buildSync({
    entryPoints: [join(here, 'app.ts')],
    absWorkingDir: workdir,
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    alias,
    metafile: true,
    logLevel: 'warning',
  });
  // Which files went into the bundle (paths relative to the repository root): what stale()
  // checks, and the proof, for a test, that the cdktn bundle holds no cdktf module and the other
  // way round.
  const inputs = Object.keys(result.metafile.inputs)
    .map((p) => relative(root, join(workdir, p)))
    .sort();
  writeFileSync(inputsFile, `${JSON.stringify(inputs, null, 1)}\n`);
}
const bundled = performance.now();
process.argv = [process.argv[0], bundle, ...args.filter((a) => a !== '--time' && a !== '--rebuild')];
createRequire(import.meta.url)(bundle);
if (time) {
  const done = performance.now();
  console.error(
    `${framework}: bundle ${Math.round(bundled - started)} ms${rebuilt ? '' : ' (cached)'}, synth ${Math.round(done - bundled)} ms, ` +
      `total ${Math.round(done - started)} ms (${(statSync(bundle).size / 1e6).toFixed(1)} MB bundle)`,
  );
}
