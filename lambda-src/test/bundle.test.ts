/**
 * The esbuild bundle: deterministic zip, and index.js running in a plain `node` process with no
 * node_modules anywhere up its directory tree, against moto through AWS_ENDPOINT_URL.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLambda, type LambdaBuild } from '../../scripts/build-lambda';
import { TEST_REGION, useMotoServer } from '../../test/support/moto';
import {
  bundleProcessEnv,
  drainQueue,
  expectedCustomer,
  kinesisEvent,
  profileItem,
  rawEvent,
  readStream,
  setUp,
} from './helpers';

const moto = useMotoServer();
const tmp: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tmp.push(d);
  return d;
};

interface ZipEntry {
  name: string;
  dosTime: number;
  dosDate: number;
  mode: number;
  data: Buffer;
}

/** Minimal zip reader (central directory + deflate/stored entries). */
function readZip(zip: Buffer): ZipEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(p)).toBe(0x02014b50);
    const method = zip.readUInt16LE(p + 10);
    const dosTime = zip.readUInt16LE(p + 12);
    const dosDate = zip.readUInt16LE(p + 14);
    const csize = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const mode = zip.readUInt32LE(p + 38) >>> 16;
    const local = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(dataStart, dataStart + csize);
    out.push({ name, dosTime, dosDate, mode, data: method === 8 ? inflateRawSync(raw) : Buffer.from(raw) });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function nodeModulesAbove(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) return join(d, 'node_modules');
    if (dirname(d) === d) return undefined;
  }
}

const RUNNER = `
const { handler } = require('./index.js');
const event = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const context = { functionName: 'enrichment', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60000 };
// index.js loads dax.js with import() when DAX_ENDPOINT is set: check that path resolves too.
Promise.all([handler(event, context), import('./dax.js')]).then(([res, dax]) => {
  process.stdout.write('\\nRESULT ' + JSON.stringify({ res, dax: typeof dax.createDaxBackend }) + '\\n');
});
`;

describe('lambda bundle', () => {
  let build: LambdaBuild;
  let runDir: string;

  beforeAll(async () => {
    build = await buildLambda(tempDir('enrichment-build-'));
    runDir = tempDir('enrichment-run-');
    for (const e of readZip(readFileSync(build.zip))) writeFileSync(join(runDir, e.name), e.data);
    writeFileSync(join(runDir, 'runner.js'), RUNNER);
  }, 120_000);

  afterAll(() => {
    for (const d of tmp) rmSync(d, { recursive: true, force: true });
  });

  it('packs index.js and dax.js deterministically (same bytes on every build)', async () => {
    const again = await buildLambda(tempDir('enrichment-build-'));
    expect(again.zipSha256).toBe(build.zipSha256);
    const entries = readZip(readFileSync(build.zip));
    expect(entries.map((e) => e.name)).toEqual(['dax.js', 'index.js']);
    for (const e of entries) {
      expect(e.dosDate).toBe(0x21); // 1980-01-01
      expect(e.dosTime).toBe(0);
      expect(e.mode).toBe(0o100644);
    }
    expect(entries.find((e) => e.name === 'index.js')!.data.equals(readFileSync(build.indexJs))).toBe(true);
    expect(build.bytes.indexJs).toBeLessThan(1024 * 1024);
    // The DAX client stays out of the cold-start file.
    const index = readFileSync(build.indexJs, 'utf8');
    expect(index.includes('antlr4')).toBe(false);
    expect(index.includes('import("./dax.js")')).toBe(true);
  });

  it('runs in plain node without node_modules and enriches against moto via AWS_ENDPOINT_URL', async () => {
    expect(nodeModulesAbove(runDir)).toBeUndefined();
    const r = await setUp(
      moto,
      Array.from({ length: 5 }, (_, i) => profileItem(i)),
    );
    const event = kinesisEvent([
      { data: rawEvent(0, 'cust-1') },
      { data: rawEvent(1, 'cust-4') },
      { data: rawEvent(2, 'nobody') },
      { data: 'not json' },
    ]);
    const child = spawnSync(process.execPath, ['runner.js'], {
      cwd: runDir,
      input: JSON.stringify(event),
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...bundleProcessEnv(moto.endpoint),
        LOOKUP_TABLE_NAME: r.table,
        OUTPUT_STREAM_NAME: r.stream,
        DLQ_URL: r.queueUrl,
        DAX_ENDPOINT: '',
        POWERTOOLS_SERVICE_NAME: 'enrichment',
        POWERTOOLS_METRICS_NAMESPACE: 'Pipeline/Test',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    });
    expect(child.status, child.stderr).toBe(0);
    const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line, child.stdout + child.stderr).toBeDefined();
    const { res, dax } = JSON.parse(line!.slice(7)) as { res: unknown; dax: string };
    expect(res).toEqual({ batchItemFailures: [] });
    expect(dax).toBe('function');
    // structured logs and EMF metrics on stdout
    expect(child.stdout).toMatch(/"message":"batch processed"/);
    expect(child.stdout).toMatch(/"Namespace":"Pipeline\/Test"/);

    const out = await readStream(r.kinesis, r.stream);
    expect(out.map((o) => o.body).sort((a, b) => String(a.event_id).localeCompare(String(b.event_id)))).toEqual([
      { ...rawEvent(0, 'cust-1'), record_type: 'event', customer_name: 'Customer 1', customer: expectedCustomer(1) },
      { ...rawEvent(1, 'cust-4'), record_type: 'event', customer_name: 'Customer 4', customer: expectedCustomer(4) },
      { ...rawEvent(2, 'nobody'), record_type: 'event', customer_name: null, customer: null },
    ]);
    const dlq = await drainQueue(r.sqs, r.queueUrl);
    expect(dlq.map((m) => m.body.reason)).toEqual(['invalid_json']);
  });

  it('fails at init with a message naming a bad variable and its range', () => {
    const child = spawnSync(process.execPath, ['-e', "require('./index.js')"], {
      cwd: runDir,
      encoding: 'utf8',
      timeout: 30_000,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: TEST_REGION,
        LOOKUP_TABLE_NAME: 'lookup',
        OUTPUT_STREAM_NAME: 'out',
        DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/dlq',
        CACHE_TTL_SECONDS: '-5',
      },
    });
    expect(child.status).not.toBe(0);
    expect(child.stderr).toContain('CACHE_TTL_SECONDS="-5" is invalid: must be an integer between 0 and 86400');
  });
});
