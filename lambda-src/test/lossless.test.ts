/**
 * The lossless path: JSON member scanner, splicing the handler's fields into the original text,
 * deterministic event ids, profile numbers (DynamoDB and the DAX decoding path), byte-bounded cache.
 */
import { describe, expect, it } from 'vitest';
import { convertDaxResponse } from '../src/dax-backend';
import { unmarshallItem } from '../src/dynamodb-backend';
import { RawNumber, scanMembers, spliceMembers, toJson } from '../src/json-text';
import { ENTRY_OVERHEAD_BYTES, LruTtlCache } from '../src/lru-cache';
import { LOOKAHEAD, nextCall } from '../src/ordered-writer';
import { deriveEventId, enrichText, parseRecord, profileFragment } from '../src/records';
import { kinesisEvent } from './helpers';

const one = (text: string | Buffer, opts: Parameters<typeof kinesisEvent>[1] = {}) =>
  kinesisEvent([{ data: Buffer.isBuffer(text) ? text : Buffer.from(text), partitionKey: 'c1' }], opts).Records[0]!;

function enriched(text: string, fragment = profileFragment(null)): string {
  const record = one(text);
  const p = parseRecord(record, 1_048_576);
  if (!p.ok) throw new Error(`unexpected ${p.reason}: ${p.detail}`);
  return enrichText(p.parsed, fragment, record).toString('utf8');
}

describe('scanMembers', () => {
  it('finds top-level member spans across strings with escapes, nesting and whitespace', () => {
    const text = ' { "a" : 1 , "b\\"}" : "x}\\\\" ,"c":{"d":[1,{"e":"]"}]},"\\u0066":null,"g":[] } ';
    JSON.parse(text);
    const s = scanMembers(text);
    expect(s.members.map((m) => m.key)).toEqual(['a', 'b"}', 'c', 'f', 'g']);
    expect(s.members.map((m) => text.slice(m.valueStart, m.end))).toEqual([
      '1',
      '"x}\\\\"',
      '{"d":[1,{"e":"]"}]}',
      'null',
      '[]',
    ]);
    expect(text[s.open]).toBe('{');
    expect(text[s.close]).toBe('}');
    expect(scanMembers('{}').members).toEqual([]);
    expect(scanMembers('{ \n }').members).toEqual([]);
  });

  it('throws on text that is not an object', () => {
    expect(() => scanMembers('[1]')).toThrow(SyntaxError);
    expect(() => scanMembers('{"a":1')).toThrow(SyntaxError);
    expect(() => scanMembers('{"a" 1}')).toThrow(SyntaxError);
  });

  it('splices: byte-exact prefix when nothing is dropped, verbatim members otherwise', () => {
    const text = '{"x": 1.10 ,"record_type":"raw","y":12345678901234567890}';
    const spans = scanMembers(text);
    expect(spliceMembers(text, spans, new Set(), '"z":true')).toBe(
      '{"x": 1.10 ,"record_type":"raw","y":12345678901234567890,"z":true}',
    );
    expect(spliceMembers(text, spans, new Set(['record_type']), '"z":true')).toBe(
      '{"x": 1.10,"y":12345678901234567890,"z":true}',
    );
    expect(spliceMembers('{ }', scanMembers('{ }'), new Set(), '"z":1')).toBe('{ "z":1}');
  });
});

describe('enrichText', () => {
  it('keeps numbers beyond 2^53, trailing zeros, exponents, key order and escapes exactly as written', () => {
    const raw =
      '{"event_id":"e-1","customer_id":"c1","amount":1.10,"big":12345678901234567890,"neg":-0.0,"exp":1E+400,' +
      '"nested":{"n":[1.000,98765432109876543210]},"s":"caf\\u00e9 \\ud83d\\ude00","t":"ü"}';
    const out = enriched(raw);
    expect(out).toBe(`${raw.slice(0, -1)},"record_type":"event","customer_name":null,"customer":null}`);
    // JSON.parse + stringify would have changed it:
    expect(JSON.stringify(JSON.parse(raw))).not.toBe(raw);
  });

  it('replaces raw fields the handler owns, wherever and however often they occur', () => {
    const raw =
      '{"record_type":"spoofed","event_id":"e","customer_id":"c1","customer":{"x":1},"v":1.50,"record_type":2}';
    const out = enriched(raw, profileFragment({ pk: 'c1', name: 'Acme', tier: 'gold' }));
    expect(out).toBe(
      '{"event_id":"e","customer_id":"c1","v":1.50,"record_type":"event","customer_name":"Acme","customer":{"tier":"gold"}}',
    );
  });

  it('derives event_id from the ingest record when absent, null, empty or not a string; numbers keep their text', () => {
    const record = one('{}');
    const derived = deriveEventId(record);
    expect(derived).toMatch(/^k-[0-9a-f]{32}$/);
    for (const value of ['', null, true, { a: 1 }, [1]]) {
      const out = JSON.parse(enriched(JSON.stringify({ customer_id: 'c1', event_id: value, n: 1 })));
      expect(out.event_id).toBe(derived);
      expect(Object.keys(out)).toEqual(['customer_id', 'n', 'event_id', 'record_type', 'customer_name', 'customer']);
    }
    expect(JSON.parse(enriched('{"customer_id":"c1"}')).event_id).toBe(derived);
    expect(enriched('{"customer_id":"c1","event_id":12345678901234567890}')).toBe(
      '{"customer_id":"c1","event_id":"12345678901234567890","record_type":"event","customer_name":null,"customer":null}',
    );
  });

  it('derives the same id on every delivery, and a different one per shard, sequence number and stream', () => {
    const a = one('{}', { seqStart: 100n });
    expect(deriveEventId(one('{}', { seqStart: 100n }))).toBe(deriveEventId(a));
    expect(deriveEventId(one('{}', { seqStart: 101n }))).not.toBe(deriveEventId(a));
    expect(deriveEventId(one('{}', { seqStart: 100n, shardId: 'shardId-000000000001' }))).not.toBe(deriveEventId(a));
    expect(deriveEventId({ ...a, eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/other' })).not.toBe(
      deriveEventId(a),
    );
    // an enhanced fan-out consumer ARN names the same stream
    expect(deriveEventId({ ...a, eventSourceARN: `${a.eventSourceARN}/consumer/enrichment:1767225600` })).toBe(
      deriveEventId(a),
    );
    // documented formula
    const { createHash } = require('node:crypto') as typeof import('node:crypto');
    const material = `${a.eventSourceARN}/shardId-000000000000/100`;
    expect(deriveEventId(a)).toBe(`k-${createHash('sha256').update(material).digest('hex').slice(0, 32)}`);
  });

  it('accepts a UTF-8 BOM like before and rejects invalid JSON the scanner never sees', () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"customer_id":"c1"}')]);
    const p = parseRecord(one(bom), 1_048_576);
    expect(p.ok).toBe(true);
    expect(parseRecord(one('{"customer_id":"c1",}'), 1_048_576)).toMatchObject({ ok: false, reason: 'invalid_json' });
  });
});

describe('profile numbers', () => {
  it('DynamoDB N values: safe numbers as numbers, big integers as strings, other decimals verbatim', () => {
    const item = unmarshallItem({
      pk: { S: 'c1' },
      name: { S: 'Acme' },
      small: { N: '42' },
      half: { N: '0.5' },
      big: { N: '12345678901234567890' },
      dec: { N: '1.10' },
      precise: { N: '3.14159265358979323846264338327950288' },
      ns: { NS: ['1.10', '2'] },
    });
    expect(profileFragment(item)).toBe(
      '"customer_name":"Acme","customer":{"small":42,"half":0.5,"big":"12345678901234567890","dec":1.10,' +
        '"precise":3.14159265358979323846264338327950288,"ns":[1.10,2]}',
    );
    expect(toJson(new RawNumber('not-a-number'))).toBe('"not-a-number"');
  });

  it('DAX: the decoding path lib-dax uses throws on a number beyond 2^53; the raw path keeps it and isolates items', async () => {
    // The CBOR decoding the DAX client does on a BatchGetItem response, without a DAX server:
    // encode an item as DAX does, decode it back to AttributeValues with the client's Assembler.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const CborEncoder = require('@amazon-dax-sdk/client-dax/src/CborEncoder');
    const DaxCborDecoder = require('@amazon-dax-sdk/client-dax/src/DaxCborDecoder');
    const Assembler = require('@amazon-dax-sdk/client-dax/src/Assembler');
    const LibDaxUtil = require('@amazon-dax-sdk/lib-dax/src/Util');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const enc = new CborEncoder();
    // each encode* call returns the bytes it wrote
    const bytes = Buffer.concat([
      enc.encodeMapHeader(4),
      enc.encodeString('pk'),
      enc.encodeString('c1'),
      enc.encodeString('big'),
      enc.encodeNumber('12345678901234567890'),
      enc.encodeString('dec'),
      enc.encodeNumber('1.10'),
      enc.encodeString('huge'),
      enc.encodeNumber('9007199254740993.1'),
    ]);
    const dec = new DaxCborDecoder(bytes);
    const av = Assembler._decodeAttributeValue(dec);
    expect(av).toEqual({
      M: { pk: { S: 'c1' }, big: { N: '12345678901234567890' }, dec: { N: '1.10' }, huge: { N: '9007199254740993.1' } },
    });

    const response = {
      Responses: { t: [av.M, { pk: { S: 'c2' }, n: { N: '7' } }] },
      UnprocessedKeys: { t: { Keys: [{ pk: { S: 'c3' } }] } },
    };
    // lib-dax 3.1.0's DaxDocument.batchGet unmarshalls like this (fixed options, no wrapNumbers):
    // a decimal beyond 2^53 fails the whole response, other decimals are rounded.
    const libDax = (r: unknown) =>
      LibDaxUtil.unmarshallOutput(
        structuredClone(r),
        LibDaxUtil.outputKeyNodes('batchGet'),
        LibDaxUtil.unmarshallOptions(),
      );
    expect(() => libDax(response)).toThrow(/can't be converted to BigInt/);
    const { huge: _huge, ...withoutHuge } = av.M;
    expect(libDax({ Responses: { t: [withoutHuge] } }).Responses.t[0]).toEqual({
      pk: 'c1',
      big: 12345678901234567890n,
      dec: 1.1,
    });
    // the backend's path keeps every profile, losslessly, same shape as the DynamoDB path
    const result = convertDaxResponse('t', response);
    expect(result.unprocessed).toEqual(['c3']);
    expect([...result.failed!.keys()]).toEqual([]);
    expect(profileFragment(result.found.get('c1')!)).toBe(
      '"customer_name":null,"customer":{"big":"12345678901234567890","dec":1.10,"huge":9007199254740993.1}',
    );
    expect(result.found.get('c2')).toEqual({ pk: 'c2', n: 7 });
  });
});

describe('byte-bounded cache', () => {
  const cache = (maxEntries: number, maxBytes: number) =>
    new LruTtlCache<string, string>(
      maxEntries,
      60_000,
      () => 0,
      maxBytes,
      (k, v) => Buffer.byteLength(k) + Buffer.byteLength(v) + ENTRY_OVERHEAD_BYTES,
    );

  it('evicts least recently used entries until the bytes fit; counts UTF-8 bytes', () => {
    const c = cache(100, 3 * (2 + 100 + ENTRY_OVERHEAD_BYTES));
    for (const k of ['k1', 'k2', 'k3']) c.set(k, 'x'.repeat(100));
    expect(c.size).toBe(3);
    expect(c.bytes).toBe(3 * (2 + 100 + ENTRY_OVERHEAD_BYTES));
    c.get('k1');
    c.set('k4', 'x'.repeat(100));
    expect(['k1', 'k2', 'k3', 'k4'].map((k) => c.get(k) !== undefined)).toEqual([true, false, true, true]);
    c.set('k5', 'ü'.repeat(60)); // 120 bytes: two entries must go
    expect(c.size).toBe(2);
    expect(c.bytes).toBeLessThanOrEqual(3 * (2 + 100 + ENTRY_OVERHEAD_BYTES));
  });

  it('does not cache an entry bigger than the whole cache; 0 bytes disables it; entries bound still applies', () => {
    const c = cache(100, 500);
    c.set('small', 'x');
    c.set('huge', 'x'.repeat(1_000));
    expect(c.get('huge')).toBeUndefined();
    expect(c.get('small')).toBe('x');
    expect(cache(100, 0).enabled).toBe(false);
    const byEntries = cache(2, 1_000_000);
    for (let i = 0; i < 10; i++) byEntries.set(`k${i}`, 'v');
    expect(byEntries.size).toBe(2);
    byEntries.delete('k9');
    byEntries.clear();
    expect(byEntries.bytes).toBe(0);
  });

  it('keeps the byte count exact through overwrites and expiry', () => {
    let now = 0;
    const c = new LruTtlCache<string, string>(
      10,
      1_000,
      () => now,
      10_000,
      (k, v) => k.length + v.length,
    );
    c.set('a', 'xx');
    c.set('a', 'xxxx');
    expect(c.bytes).toBe(5);
    now = 2_000;
    expect(c.get('a')).toBeUndefined();
    expect(c.bytes).toBe(0);
  });
});

describe('ordered writer scheduling (nextCall)', () => {
  const put = (ref: number, key: string) => ({
    kind: 'put' as const,
    entry: { ref, data: new Uint8Array(0), partitionKey: key, size: 10 },
  });
  const dlq = (ref: number) => ({ kind: 'dlq' as const, entry: { ref, reason: 'invalid_json', body: '{}' } });

  it('first record alone; then every free customer, skipping those waiting for an earlier event of theirs', () => {
    const keys = ['a', 'a', 'b', 'a', 'c', 'b', 'd'];
    const items = keys.map((k, i) => put(i, k));
    const done = items.map(() => false);
    expect(nextCall(items, done, 0, items.length, true)).toEqual([0]);
    done[0] = true;
    // 1 (a), 2 (b), 3 (a: waits), 4 (c), 5 (b: waits), 6 (d)
    expect(nextCall(items, done, 1, items.length, false)).toEqual([1, 2, 4, 6]);
    for (const i of [1, 2, 4, 6]) done[i] = true;
    expect(nextCall(items, done, 3, items.length, false)).toEqual([3, 5]);
    // a limit (a record that failed for good) is never passed
    expect(
      nextCall(
        items,
        items.map(() => false),
        1,
        4,
        false,
      ),
    ).toEqual([1, 2]);
  });

  it('reaches at most LOOKAHEAD records past the first waiting one, and never past a pending DLQ record', () => {
    const items = [put(0, 'hot'), put(1, 'hot'), ...Array.from({ length: 200 }, (_, i) => put(i + 2, `k${i}`))];
    const call = nextCall(
      items,
      items.map(() => false),
      0,
      items.length,
      false,
    );
    expect(call[0]).toBe(0);
    expect(call[call.length - 1]).toBe(1 + LOOKAHEAD - 1);
    expect(call).not.toContain(1);
    const mixed = [put(0, 'a'), put(1, 'b'), dlq(2), dlq(3), put(4, 'c')];
    const d = mixed.map(() => false);
    expect(nextCall(mixed, d, 0, 5, false)).toEqual([0, 1]);
    d[0] = d[1] = true;
    expect(nextCall(mixed, d, 2, 5, false)).toEqual([2, 3]);
  });

  it('cuts a call at 500 entries', () => {
    const items = Array.from({ length: 1_200 }, (_, i) => put(i, `k${i}`));
    expect(
      nextCall(
        items,
        items.map(() => false),
        0,
        items.length,
        false,
      ),
    ).toHaveLength(500);
  });
});
