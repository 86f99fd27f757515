import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';
import { fromAttributeValue } from '../src/dynamodb-backend';
import { RawNumber } from '../src/json-text';
import { LruTtlCache } from '../src/lru-cache';
import { chunkEntries, type OutputEntry } from '../src/output-writer';
import { compareSequenceNumbers, enrich, parseRecord } from '../src/records';
import { backoff } from '../src/retry';
import { kinesisEvent } from './helpers';

const BASE = {
  LOOKUP_TABLE_NAME: 'acme-ue1-dev-lookup',
  OUTPUT_STREAM_NAME: 'acme-ue1-dev-output',
  DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/acme-ue1-dev-enrichment-dlq',
};

describe('LruTtlCache', () => {
  it('evicts the least recently used entry; get refreshes recency', () => {
    const c = new LruTtlCache<string, number>(3, 1_000, () => 0);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    expect(c.get('a')).toBe(1); // a is now most recent; b is the oldest
    c.set('d', 4);
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a'), c.get('c'), c.get('d')]).toEqual([1, 3, 4]);
    expect(c.size).toBe(3);
  });

  it('expires entries after the TTL and re-setting renews it', () => {
    let now = 0;
    const c = new LruTtlCache<string, string>(10, 100, () => now);
    c.set('k', 'v');
    now = 99;
    expect(c.get('k')).toBe('v');
    now = 100;
    expect(c.get('k')).toBeUndefined();
    expect(c.size).toBe(0); // dropped on read
    c.set('k', 'v1');
    now = 150;
    c.set('k', 'v2');
    now = 249;
    expect(c.get('k')).toBe('v2');
  });

  it('caches negative (null) answers distinctly from misses', () => {
    const c = new LruTtlCache<string, object | null>(10, 100, () => 0);
    c.set('unknown', null);
    expect(c.get('unknown')).toBeNull();
    expect(c.get('never-seen')).toBeUndefined();
  });

  it('is disabled by a capacity or TTL of 0', () => {
    for (const [size, ttl] of [
      [0, 100],
      [10, 0],
    ] as const) {
      const c = new LruTtlCache<string, number>(size, ttl, () => 0);
      c.set('a', 1);
      expect(c.get('a')).toBeUndefined();
      expect(c.enabled).toBe(false);
    }
  });

  it('overwriting a key does not grow the cache past its capacity', () => {
    const c = new LruTtlCache<number, number>(2, 1_000, () => 0);
    for (let i = 0; i < 100; i++) c.set(i % 3, i);
    expect(c.size).toBe(2);
  });
});

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(BASE)).toEqual({
      lookupTableName: BASE.LOOKUP_TABLE_NAME,
      outputStreamName: BASE.OUTPUT_STREAM_NAME,
      dlqUrl: BASE.DLQ_URL,
      daxEndpoint: undefined,
      cacheMaxEntries: 10_000,
      cacheMaxBytes: 67_108_864,
      cacheTtlSeconds: 300,
      maxRecordBytes: 1_048_576,
    });
    expect(loadConfig({ ...BASE, DAX_ENDPOINT: '' }).daxEndpoint).toBeUndefined();
  });

  it('reads every variable', () => {
    const c = loadConfig({
      ...BASE,
      DAX_ENDPOINT: 'daxs://acme-dax.abc123.dax-clusters.us-east-1.amazonaws.com',
      CACHE_MAX_ENTRIES: '0',
      CACHE_MAX_BYTES: '1073741824',
      CACHE_TTL_SECONDS: '86400',
      MAX_RECORD_BYTES: '1024',
      POWERTOOLS_LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({
      daxEndpoint: 'daxs://acme-dax.abc123.dax-clusters.us-east-1.amazonaws.com',
      cacheMaxEntries: 0,
      cacheMaxBytes: 1_073_741_824,
      cacheTtlSeconds: 86_400,
      maxRecordBytes: 1_024,
    });
  });

  it.each([
    ['LOOKUP_TABLE_NAME', undefined, /LOOKUP_TABLE_NAME is required/],
    ['LOOKUP_TABLE_NAME', '   ', /LOOKUP_TABLE_NAME is required/],
    ['LOOKUP_TABLE_NAME', 'a b', /LOOKUP_TABLE_NAME="a b" is invalid: .*3-255 letters, digits, "_", "\." or "-"/],
    ['OUTPUT_STREAM_NAME', undefined, /OUTPUT_STREAM_NAME is required/],
    [
      'OUTPUT_STREAM_NAME',
      'arn:aws:kinesis:us-east-1:1:stream/x',
      /OUTPUT_STREAM_NAME=.* is invalid: .*1-128 letters, digits, "_", "\." or "-"/,
    ],
    ['DLQ_URL', undefined, /DLQ_URL is required/],
    ['DLQ_URL', 'arn:aws:sqs:us-east-1:1:q', /DLQ_URL=.* is invalid: .*SQS queue URL/],
    [
      'DAX_ENDPOINT',
      'https://dax.example',
      /DAX_ENDPOINT=.* is invalid: must be empty \(DynamoDB directly\) or a daxs:\/\/host\[:port\] endpoint/,
    ],
    // plain dax:// (8111): the cluster (dynamodb-lookup) serves only TLS, on 9111
    ['DAX_ENDPOINT', 'dax://dax.example:8111', /DAX_ENDPOINT="dax:\/\/dax.example:8111" is invalid: .*daxs:\/\//],
    [
      'CACHE_MAX_ENTRIES',
      '-1',
      /CACHE_MAX_ENTRIES="-1" is invalid: must be an integer between 0 and 1000000 \(default 10000\)/,
    ],
    ['CACHE_MAX_ENTRIES', '1000001', /CACHE_MAX_ENTRIES=.* between 0 and 1000000/],
    ['CACHE_MAX_ENTRIES', '1e3', /CACHE_MAX_ENTRIES="1e3" is invalid/],
    [
      'CACHE_MAX_BYTES',
      '-1',
      /CACHE_MAX_BYTES="-1" is invalid: must be an integer between 0 and 1073741824 \(default 67108864\)/,
    ],
    ['CACHE_MAX_BYTES', '1073741825', /CACHE_MAX_BYTES=.* between 0 and 1073741824/],
    ['CACHE_MAX_BYTES', '64MiB', /CACHE_MAX_BYTES="64MiB" is invalid/],
    [
      'CACHE_TTL_SECONDS',
      '12.5',
      /CACHE_TTL_SECONDS="12.5" is invalid: must be an integer between 0 and 86400 \(default 300\)/,
    ],
    ['CACHE_TTL_SECONDS', 'five', /CACHE_TTL_SECONDS="five" is invalid/],
    ['MAX_RECORD_BYTES', '1023', /MAX_RECORD_BYTES="1023" is invalid: must be an integer between 1024 and 1048576/],
    ['MAX_RECORD_BYTES', '1048577', /MAX_RECORD_BYTES=.* between 1024 and 1048576/],
    ['POWERTOOLS_LOG_LEVEL', 'verbose', /POWERTOOLS_LOG_LEVEL="verbose" is invalid: must be one of TRACE, DEBUG, INFO/],
  ])('%s=%j fails with a message naming it and its range', (name, value, message) => {
    const env: Record<string, string | undefined> = { ...BASE, [name]: value };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('records', () => {
  it('parses a valid record and classifies malformed ones', () => {
    const ev = kinesisEvent([
      { data: { customer_id: 'c1', event_id: 'e1' } },
      { data: '{nope' },
      { data: '42' },
      { data: { customer_id: 7 } },
      { data: { customer_id: 'x'.repeat(257) } },
      { data: Buffer.alloc(2_000, 0x20) },
    ]);
    const r = ev.Records.map((rec) => parseRecord(rec, 1_024));
    expect(r[0]).toMatchObject({ ok: true, event: { customer_id: 'c1', event_id: 'e1' } });
    expect(r.slice(1).map((x) => (x.ok ? 'ok' : x.reason))).toEqual([
      'invalid_json',
      'not_an_object',
      'missing_customer_id',
      'missing_customer_id',
      'record_too_large',
    ]);
  });

  it('enriches with customer_name and the non-key attributes under customer', () => {
    const raw = { customer_id: 'c1', event_id: 'e', record_type: 'spoofed', customer: 'spoofed' };
    expect(enrich(raw, { pk: 'c1', name: 'Acme', tier: 'gold' })).toEqual({
      customer_id: 'c1',
      event_id: 'e',
      record_type: 'event',
      customer_name: 'Acme',
      customer: { tier: 'gold' },
    });
    expect(enrich(raw, { pk: 'c1' })).toMatchObject({ customer_name: null, customer: {} });
    expect(enrich(raw, null)).toMatchObject({ record_type: 'event', customer_name: null, customer: null });
  });

  it('orders sequence numbers numerically', () => {
    const seqs = ['100', '99', '49590338271490256608559692538361571095921575989136588898', '1000'];
    expect([...seqs].sort(compareSequenceNumbers)).toEqual([
      '99',
      '100',
      '1000',
      '49590338271490256608559692538361571095921575989136588898',
    ]);
  });

  it('unmarshalls DynamoDB attribute values', () => {
    expect(
      fromAttributeValue({
        M: {
          s: { S: 'x' },
          n: { N: '1.5' },
          dec: { N: '1.10' },
          long: { N: '0.1000000000000000055511151231257827' },
          big: { N: '123456789012345678901234567890' },
          b: { BOOL: false },
          nul: { NULL: true },
          l: { L: [{ N: '1' }, { S: 'two' }] },
          ss: { SS: ['a', 'b'] },
          ns: { NS: ['1', '2'] },
          bin: { B: Buffer.from('hi') },
        },
      }),
    ).toEqual({
      s: 'x',
      n: 1.5,
      dec: new RawNumber('1.10'),
      long: new RawNumber('0.1000000000000000055511151231257827'),
      big: '123456789012345678901234567890',
      b: false,
      nul: null,
      l: [1, 'two'],
      ss: ['a', 'b'],
      ns: [1, 2],
      bin: Buffer.from('hi').toString('base64'),
    });
  });
});

describe('PutRecords chunking and backoff', () => {
  const entry = (ref: number, size: number): OutputEntry => ({ ref, data: new Uint8Array(0), partitionKey: 'k', size });

  it('cuts at 500 entries and at 5 MiB, in order', () => {
    const many = Array.from({ length: 1_001 }, (_, i) => entry(i, 10));
    expect(chunkEntries(many).map((c) => c.length)).toEqual([500, 500, 1]);
    const big = Array.from({ length: 11 }, (_, i) => entry(i, 1024 * 1024));
    const chunks = chunkEntries(big);
    expect(chunks.map((c) => c.length)).toEqual([5, 5, 1]);
    expect(chunks.flat().map((e) => e.ref)).toEqual(big.map((e) => e.ref));
  });

  it('backs off with full jitter under a cap, stops after maxAttempts or near the timeout', async () => {
    const waits: number[] = [];
    const timing = { sleep: async (ms: number) => void waits.push(ms), random: () => 0.999, remainingMs: () => 60_000 };
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 500 };
    for (let retry = 1; retry < 5; retry++) expect(await backoff(policy, retry, timing)).toBe(true);
    expect(await backoff(policy, 5, timing)).toBe(false);
    expect(waits).toEqual([99, 199, 399, 499]);
    expect(await backoff(policy, 1, { ...timing, remainingMs: () => 1_000 })).toBe(false);
  });
});
