#!/usr/bin/env node
// Synthesis under both frameworks: `npm run bench:frameworks [runs]` (node tools/cdktn/bench.mjs,
// default 5 runs each, interleaved). Each run is one fresh process of tools/cdktn/synth.mjs
// synthesizing all components into a scratch folder: esbuild bundles the app against the framework,
// then the bundle runs. Prints the medians of its bundle and synth times (from --time), of the
// process's wall time and peak RSS (GNU time). `<framework>` rebuilds the bundle (--rebuild),
// `<framework>-cached` reuses it (what a second `npm run synth:cdktn` does); `fast-path` is the
// default `npm run synth` (scripts/synth.mjs, CDKTF, cached bundle) for reference.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const runs = Number(process.argv[2] ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function once(argv, env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-frameworks-'));
  try {
    mkdirSync(join(dir, 'out'));
    const timeFile = join(dir, 'time');
    const r = spawnSync('/usr/bin/time', ['-f', '%e %M', '-o', timeFile, ...argv], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      env: {
        ...process.env,
        SYNTH_COMPONENTS_DIR: join(dir, 'components'),
        SYNTH_SCHEMAS_DIR: join(dir, 'schemas'),
        CDKTF_OUTDIR: join(dir, 'out'),
        ...env,
      },
    });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
    const [wall, kb] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
    const m = /bundle (\d+) ms(?: \(cached\))?, synth (\d+) ms/.exec(r.stderr);
    return { wall, rss: kb / 1024, bundle: m ? Number(m[1]) : undefined, synth: m ? Number(m[2]) : undefined };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const labels = ['cdktf', 'cdktn', 'cdktf-cached', 'cdktn-cached', 'fast-path'];
const results = Object.fromEntries(labels.map((l) => [l, []]));
const synthJs = join(here, 'synth.mjs');
// Warm the OS file cache and the fast path's bundle once.
for (const f of ['cdktf', 'cdktn']) once([process.execPath, synthJs, '--framework', f]);
execFileSync(process.execPath, [join(root, 'scripts', 'synth.mjs')], { cwd: root, stdio: 'ignore' });
for (let i = 0; i < runs; i++) {
  for (const f of ['cdktf', 'cdktn']) {
    results[f].push(once([process.execPath, synthJs, '--framework', f, '--time', '--rebuild']));
    results[`${f}-cached`].push(once([process.execPath, synthJs, '--framework', f, '--time']));
  }
  // The fast path writes into the repository (unchanged files are not rewritten).
  results['fast-path'].push(once([process.execPath, join(root, 'scripts', 'synth.mjs')]));
}
console.log(`node ${process.version}, ${runs} runs each, all components`);
for (const l of labels) {
  const r = results[l];
  const parts = [
    `median wall ${median(r.map((x) => x.wall)).toFixed(2)} s`,
    `peak RSS ${median(r.map((x) => x.rss)).toFixed(0)} MB`,
  ];
  if (r[0].bundle !== undefined)
    parts.push(`bundle ${median(r.map((x) => x.bundle))} ms`, `synth ${median(r.map((x) => x.synth))} ms (in-process)`);
  console.log(`${l.padEnd(12)} ${parts.join(', ')}`);
}
