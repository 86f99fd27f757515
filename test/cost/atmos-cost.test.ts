/**
 * `atmos cost` through the real Atmos CLI against the real deploy stacks: the --json document's
 * schema, estimates that follow each stack's YAML, flag errors that reach the user, and the
 * README's table being exactly what `atmos cost --blueprint-table` prints.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { atmos } from '../support/atmos';
import { REPO_ROOT } from '../support/paths';

interface Item {
  name: string;
  usd_month: number | 'unknown';
  quantity: number;
  unit: string;
  unit_price_usd: number | 'unknown';
}
interface Doc {
  stack: string;
  throughput_mb_s: number;
  total_usd_month: number;
  components: Record<string, { total_usd_month: number; items: Item[] }>;
  [extra: string]: unknown;
}

async function costJson(args: string[]): Promise<Doc> {
  const r = await atmos(['cost', ...args, '--json']);
  if (r.status !== 0) throw new Error(`atmos cost ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as Doc;
}

const item = (d: Doc, component: string, prefix: string): Item => {
  const found = d.components[component]!.items.filter((i) => i.name.startsWith(prefix));
  if (found.length !== 1) throw new Error(`${component}: expected one item "${prefix}…", found ${found.length}`);
  return found[0]!;
};

describe('atmos cost --json', () => {
  let prod: Doc;
  let dev: Doc;
  beforeAll(async () => {
    [prod, dev] = await Promise.all([
      costJson(['-s', 'prod']),
      costJson(['-s', 'dev', '--throughput', '10MB/s', '--record-bytes', '2048', '--hours', '100']),
    ]);
  }, 240_000);

  it('is the document the issue specifies', () => {
    expect(prod).toMatchObject({ stack: 'prod', throughput_mb_s: 1 });
    expect(typeof prod.total_usd_month).toBe('number');
    expect(Object.keys(prod.components).sort()).toEqual(
      [
        'dynamodb-lookup',
        'firehose-opensearch',
        'firehose-s3',
        'kinesis-analytics',
        'kinesis-ingest',
        'kinesis-output',
        'lambda-enrichment',
        'monitoring',
        'opensearch',
        'timestream',
      ].sort(),
    );
    let sum = 0;
    for (const [name, c] of Object.entries(prod.components)) {
      expect(typeof c.total_usd_month, name).toBe('number');
      expect(c.items.length, name).toBeGreaterThan(0);
      for (const i of c.items) {
        expect(
          Object.keys(i)
            .filter((k) => k !== 'price')
            .sort(),
        ).toEqual(['name', 'quantity', 'unit', 'unit_price_usd', 'usd_month']);
        expect(typeof i.name).toBe('string');
        expect(typeof i.unit).toBe('string');
        expect(typeof i.quantity).toBe('number');
        expect(i.unit_price_usd === 'unknown' || typeof i.unit_price_usd === 'number').toBe(true);
        expect(i.usd_month === 'unknown' || typeof i.usd_month === 'number').toBe(true);
        if (typeof i.usd_month === 'number' && typeof i.unit_price_usd === 'number')
          expect(i.usd_month).toBeCloseTo(i.quantity * i.unit_price_usd, 6);
        if (i.unit_price_usd === 'unknown' && i.quantity > 0) expect(i.usd_month).toBe('unknown');
      }
      sum += c.total_usd_month;
    }
    expect(prod.total_usd_month).toBeCloseTo(sum, 6);
    expect(prod.price_table).toEqual({
      region: 'us-east-1',
      read: JSON.parse(readFileSync(join(REPO_ROOT, 'cost', 'prices', 'us-east-1.json'), 'utf8')).read,
    });
  });

  it("follows each stack's YAML (opensearch size, ingest retention) and the flags", () => {
    expect(item(prod, 'opensearch', 'Data nodes').name).toBe('Data nodes (3 × r7g.large.search)');
    expect(item(prod, 'opensearch', 'Dedicated masters').name).toBe('Dedicated masters (3 × m7g.large.search)');
    expect(item(prod, 'opensearch', 'EBS gp3 storage').quantity).toBe(300);
    expect(item(dev, 'opensearch', 'Data nodes')).toMatchObject({
      name: 'Data nodes (1 × t3.medium.search)',
      quantity: 100,
    });
    expect(dev.components.opensearch!.items.some((i) => i.name.startsWith('Dedicated masters'))).toBe(false);
    // prod keeps the ingest stream 168 h: 144 h of extended retention; dev keeps 24 h
    expect(item(prod, 'kinesis-ingest', 'Extended retention (168 h)').quantity).toBeGreaterThan(0);
    expect(item(dev, 'kinesis-ingest', 'Extended retention (24 h)').quantity).toBe(0);
    expect(dev.throughput_mb_s).toBe(10);
    expect(item(dev, 'kinesis-ingest', 'Stream hours')).toMatchObject({ quantity: 100 });
    // 2,048-byte records are metered as exactly 2 KB: 10 MB/s ÷ 2048 B × 100 h × 2048 B
    expect(item(dev, 'kinesis-ingest', 'Data in').quantity).toBeCloseTo((10e6 * 100 * 3600) / 1024 ** 3, 6);
    expect(dev.assumptions).toMatchObject({ record_bytes: 2048, hours: 100 });
  });
});

describe('atmos cost errors', () => {
  it('a bad flag value fails with the flag and the allowed format', async () => {
    const [r, h] = await Promise.all([
      atmos(['cost', '-s', 'prod', '--throughput', '10MBs']),
      atmos(['cost', '-s', 'prod', '--hours', '800']),
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toContain(
      'atmos cost: --throughput: "10MBs" is not a throughput; use <number><unit>/s with a number above 0 and unit one of B, KB, MB, GB, KiB, MiB, GiB (e.g. 10MB/s, 512KiB/s)',
    );
    expect(h.status).not.toBe(0);
    expect(h.stderr + h.stdout).toContain(
      'atmos cost: --hours: "800" is not a number of hours; use a number above 0 and at most 744',
    );
  });

  it('an unknown stack is named', async () => {
    const r = await atmos(['cost', '-s', 'qa']);
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/qa/);
  });
});

describe('atmos cost --blueprint-table', () => {
  it('is what the README shows, verbatim', async () => {
    const r = await atmos(['cost', '--blueprint-table']);
    expect(r.status, r.stderr).toBe(0);
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const m = /<!-- cost-table:begin -->\n([\s\S]*?)<!-- cost-table:end -->/.exec(readme);
    expect(m, 'README has a <!-- cost-table:begin --> … <!-- cost-table:end --> block').not.toBeNull();
    expect(
      m![1],
      'the README cost table is stale: put the output of `atmos cost --blueprint-table` between the markers',
    ).toBe(r.stdout);
    expect(r.stdout.split('\n').filter((l) => /^\| \d+ MB\/s/.test(l))).toHaveLength(9);
  });
});
