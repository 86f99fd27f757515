#!/usr/bin/env node
// Synthesis benchmark: `node bench/synth.mjs [runs]` (default 5).
//
// Prints the median wall time and peak RSS of synthesizing every component by
//   fast-path   node scripts/synth.mjs (what `npm run synth` runs: one cached bundle)
//   unbundled   the same app with its packages resolved from node_modules (deep imports)
//   root-import the unbundled app preceded by require('@cdktf/provider-aws'), i.e. an app that
//               imports the provider package root instead of deep paths (the baseline)
//   cdktf-cli   cdktf synth (the standard CLI; fewer runs, it is slow)
// all measured in this one run, on this machine, with GNU time (peak RSS of the whole process tree).
import { execFileSync } from 'node:child_process';
import { buildSync } from 'esbuild';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function measure(label, argv, count) {
  const walls = [];
  const rss = [];
  for (let i = 0; i < count; i++) {
    const out = mkdtempSync(join(tmpdir(), 'bench-time-'));
    const timeFile = join(out, 'time');
    try {
      execFileSync('/usr/bin/time', ['-f', '%e %M', '-o', timeFile, ...argv], {
        cwd: root,
        stdio: 'ignore',
        env: { ...process.env, CHECKPOINT_DISABLE: '1', CI: 'true' },
      });
      const [wall, kb] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
      walls.push(wall);
      rss.push(kb / 1024);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  const result = { label, runs: count, wall: median(walls), rss: median(rss) };
  console.log(
    `${label.padEnd(12)} runs=${count}  median wall ${result.wall.toFixed(2)} s  median peak RSS ${result.rss.toFixed(0)} MB`,
  );
  return result;
}

// Warm the fast path's bundle and the OS file cache once; build the unbundled app.
execFileSync(process.execPath, [join(root, 'scripts', 'synth.mjs')], { cwd: root, stdio: 'ignore' });
const unbundled = join(root, '.tools', 'bench', 'app-external.cjs');
buildSync({
  entryPoints: [join(root, 'main.ts')],
  outfile: unbundled,
  bundle: true,
  packages: 'external',
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  logLevel: 'warning',
});
const components = readdirSync(join(root, 'components')).filter((c) =>
  existsSync(join(root, 'components', c, 'main.tf.json')),
).length;
console.log(`synthesizing ${components} components; node ${process.version}`);

const fast = measure('fast-path', [process.execPath, join(root, 'scripts', 'synth.mjs')], runs);
const deep = measure('unbundled', [process.execPath, unbundled], runs);
const baseline = measure(
  'root-import',
  [process.execPath, '-e', `require('@cdktf/provider-aws'); require(${JSON.stringify(unbundled)})`],
  runs,
);
const cli = measure(
  'cdktf-cli',
  [join(root, 'node_modules', '.bin', 'cdktf'), 'synth'],
  Math.max(1, Math.min(3, runs)),
);

console.log(
  `fast path vs root-import baseline: ${(baseline.wall / fast.wall).toFixed(1)}x faster, ` +
    `${(baseline.rss / fast.rss).toFixed(1)}x less memory; vs unbundled deep imports: ${(deep.wall / fast.wall).toFixed(1)}x; ` +
    `vs cdktf-cli: ${(cli.wall / fast.wall).toFixed(1)}x faster`,
);
console.log(
  `goals: fast path < 1.5 s: ${fast.wall < 1.5 ? 'met' : 'NOT met'}; < 250 MB: ${fast.rss < 250 ? 'met' : 'NOT met'}; ` +
    `>= 5x faster than root-import: ${baseline.wall / fast.wall >= 5 ? 'met' : 'NOT met'}`,
);
