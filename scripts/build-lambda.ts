/**
 * Bundles the enrichment Lambda (lambda-src/) with esbuild and packs a deterministic zip.
 *
 *   npx tsx scripts/build-lambda.ts [--out-dir DIR]     (default lambda-src/dist)
 *
 * Output (lambda-src/dist/, git-ignored):
 *   index.js        the handler (`index.handler`), CJS, node22 (the oldest runtime the component allows), minified, no node_modules needed
 *   dax.js          the DAX lookup client, required by index.js only when DAX_ENDPOINT is set
 *   *.js.map        source maps (not packed; keep them next to the build for debugging)
 *   enrichment.zip  index.js + dax.js, fixed timestamps and modes: same sources → same bytes
 *
 * The DAX client ships its own copy of the DynamoDB client plus a parser runtime; keeping it in
 * its own file keeps the cold-start import of index.js small for the (default) DynamoDB path.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { build, type BuildOptions, type Plugin } from 'esbuild';

export const LAMBDA_DIR = resolve(__dirname, '..', 'lambda-src');
export const DIST_DIR = join(LAMBDA_DIR, 'dist');

export interface LambdaBuild {
  readonly indexJs: string;
  readonly daxJs: string;
  readonly zip: string;
  readonly bytes: { indexJs: number; daxJs: number; zip: number };
  readonly zipSha256: string;
}

/** Turns `import('./dax-backend')` into a runtime `require('./dax.js')` of the sibling file. */
const daxAsSiblingFile: Plugin = {
  name: 'dax-as-sibling-file',
  setup(b) {
    b.onResolve({ filter: /^\.\/dax-backend$/ }, () => ({ path: './dax.js', external: true }));
  },
};

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  sourcemap: 'external',
  // ES module builds of the SDK tree-shake far better than their CJS builds (~420 KB vs ~640 KB).
  mainFields: ['module', 'main'],
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: LAMBDA_DIR,
};

// ---- deterministic zip (stored names, deflate, fixed DOS timestamp 1980-01-01 00:00) ----

const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const UNIX_FILE_0644 = (0o100644 << 16) >>> 0;

export function deterministicZip(files: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of [...files].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const name = Buffer.from(file.name, 'utf8');
    const deflated = deflateRawSync(file.data, { level: 9 });
    const crc = crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(deflated.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(deflated.length, 20);
    central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE(UNIX_FILE_0644, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, deflated);
    centrals.push(central, name);
    offset += local.length + name.length + deflated.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, cd, end]);
}

export async function buildLambda(outDir: string = DIST_DIR): Promise<LambdaBuild> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const indexJs = join(outDir, 'index.js');
  const daxJs = join(outDir, 'dax.js');
  await Promise.all([
    build({ ...common, entryPoints: ['src/index.ts'], outfile: indexJs, plugins: [daxAsSiblingFile] }),
    build({ ...common, entryPoints: ['src/dax-backend.ts'], outfile: daxJs }),
  ]);
  const indexData = readFileSync(indexJs);
  const daxData = readFileSync(daxJs);
  const zipData = deterministicZip([
    { name: 'index.js', data: indexData },
    { name: 'dax.js', data: daxData },
  ]);
  const zip = join(outDir, 'enrichment.zip');
  writeFileSync(zip, zipData);
  return {
    indexJs,
    daxJs,
    zip,
    bytes: { indexJs: indexData.length, daxJs: daxData.length, zip: zipData.length },
    zipSha256: createHash('sha256').update(zipData).digest('hex'),
  };
}

// Run as a script (tsx), not when imported by tests or the benchmark.
if (typeof require !== 'undefined' && require.main === module) {
  const at = process.argv.indexOf('--out-dir');
  buildLambda(at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : DIST_DIR).then(
    (out) => {
      const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
      console.log(`index.js        ${kb(out.bytes.indexJs)}  ${out.indexJs}`);
      console.log(`dax.js          ${kb(out.bytes.daxJs)}  ${out.daxJs}`);
      console.log(`enrichment.zip  ${kb(out.bytes.zip)}  sha256 ${out.zipSha256}`);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
