/**
 * Every billable resource type the components synthesize has a price rule, every rule names
 * prices the table has, every price has a source and a read date, and resource counts follow
 * the count/for_each conditions for the vars given.
 */
import { describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../components/registry';
import { checkPriceTable, loadPriceTable, type PriceTable } from '../../scripts/cost/prices';
import { alarmMetrics, countOf, readSynthesized, resourceInstances } from '../../scripts/cost/resources';
import { RESOURCE_RULES, unpricedTypes } from '../../scripts/cost/rules';
import { estimate, DEFAULT_ASSUMPTIONS } from '../../scripts/cost/model';
import { REPO_ROOT } from '../support/paths';

const tf = Object.fromEntries(Object.keys(COMPONENTS).map((c) => [c, readSynthesized(REPO_ROOT, c)]));
const prices = loadPriceTable(REPO_ROOT, 'us-east-1');

describe('price rules', () => {
  it('cover every resource type in the synthesized components', () => {
    expect(unpricedTypes(tf)).toEqual([]);
    const types = new Set(Object.values(tf).flatMap((t) => Object.keys(t.resource ?? {})));
    expect(types.size).toBeGreaterThan(30);
    for (const t of types) expect(RESOURCE_RULES[t], t).toBeDefined();
  });

  it('a new resource type without a rule is reported, and the estimate refuses to run', () => {
    const withNew = {
      ...tf,
      'kinesis-ingest': {
        ...tf['kinesis-ingest']!,
        resource: { ...tf['kinesis-ingest']!.resource, aws_msk_cluster: { broker: {} } },
      },
    };
    expect(unpricedTypes(withNew)).toEqual(['kinesis-ingest: aws_msk_cluster']);
    expect(() =>
      estimate(
        {
          stack: 's',
          region: 'us-east-1',
          tf: withNew,
          vars: Object.fromEntries(Object.keys(tf).map((c) => [c, {}])),
          lambdaMetricNames: [],
        },
        prices,
        {
          ...DEFAULT_ASSUMPTIONS,
          throughputBytesPerSecond: 1e6,
        },
      ),
    ).toThrow(
      'resource types without a price rule (add them to scripts/cost/rules.ts): kinesis-ingest: aws_msk_cluster',
    );
  });

  it('name only prices the table has, and every table price belongs to a rule', () => {
    const named = new Set<string>();
    for (const [type, rule] of Object.entries(RESOURCE_RULES)) {
      if (!rule.billable) continue;
      for (const key of rule.prices) {
        expect(prices.prices[key], `${type} → ${key}`).toBeDefined();
        named.add(key);
      }
    }
    expect(Object.keys(prices.prices).filter((k) => !named.has(k))).toEqual([]);
  });
});

describe('the price table', () => {
  it('gives every price a source page, a read date and, when unknown, a null figure', () => {
    expect(() => checkPriceTable(prices, 'us-east-1.json')).not.toThrow();
    expect(prices.read).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const [key, p] of Object.entries(prices.prices)) {
      expect(p.source.length, key).toBeGreaterThan(0);
      for (const s of p.source) expect(prices.sources[s]?.url, `${key} → ${s}`).toMatch(/^https:\/\//);
      if (p.status === 'unknown') expect(p.usd, key).toBeNull();
    }
  });

  it('rejects a price without a source, an undated one and an unknown one with a figure', () => {
    const bad = (patch: Partial<PriceTable['prices'][string]>): PriceTable => ({
      ...prices,
      prices: { x: { usd: 1, per: 'GB', source: ['kds-page'], read: '2026-12-01', ...patch } },
    });
    expect(() => checkPriceTable(bad({ source: [] }), 't')).toThrow('t: price x names no source');
    expect(() => checkPriceTable(bad({ source: ['nowhere'] }), 't')).toThrow(
      't: price x names unknown source "nowhere"',
    );
    expect(() => checkPriceTable(bad({ read: 'recently' }), 't')).toThrow('t: price x has no read date (YYYY-MM-DD)');
    expect(() => checkPriceTable(bad({ status: 'unknown' }), 't')).toThrow(
      't: price x: usd must be null exactly when status is "unknown"',
    );
    expect(() => checkPriceTable(bad({ usd: null }), 't')).toThrow(
      't: price x: usd must be null exactly when status is "unknown"',
    );
  });
});

describe('resource counts follow count and for_each', () => {
  it('enhanced fan-out consumers and their lag alarms: one per distinct name', () => {
    const r = resourceInstances(tf['kinesis-ingest']!, {
      efo_consumer_names: ['enrichment', 'analytics', 'enrichment'],
    });
    expect(countOf(r, 'aws_kinesis_stream_consumer')).toBe(2);
    expect(alarmMetrics(r)).toEqual({ alarms: 4, metrics: 4 });
    expect(countOf(resourceInstances(tf['kinesis-ingest']!, {}), 'aws_kinesis_stream_consumer')).toBe(0);
  });

  it('an existing archive bucket removes the bucket and its key', () => {
    const own = resourceInstances(tf['firehose-s3']!, {});
    const given = resourceInstances(tf['firehose-s3']!, { archive_bucket_name: 'acme-archive' });
    expect([countOf(own, 'aws_s3_bucket'), countOf(own, 'aws_kms_key')]).toEqual([1, 1]);
    expect([countOf(given, 'aws_s3_bucket'), countOf(given, 'aws_kms_key')]).toEqual([0, 0]);
  });

  it('DAX exists only when dax_enabled', () => {
    expect(countOf(resourceInstances(tf['dynamodb-lookup']!, { dax_enabled: false }), 'aws_dax_cluster')).toBe(0);
    expect(countOf(resourceInstances(tf['dynamodb-lookup']!, { dax_enabled: true }), 'aws_dax_cluster')).toBe(1);
  });

  it('a metric-math alarm is billed per metric it reads', () => {
    // error rate = 100 × Errors / Invocations: two metrics and one expression; iterator age,
    // failed records, DLQ and on-failure queue messages: one metric each
    const r = resourceInstances(tf['lambda-enrichment']!, {});
    expect(alarmMetrics(r)).toEqual({ alarms: 5, metrics: 6 });
  });

  it('a condition the evaluator does not know fails loudly', () => {
    const odd = { ...tf.timestream!, resource: { aws_timestreamwrite_table: { t: { count: '${max(1, 2)}' } } } };
    expect(() => resourceInstances(odd, {})).toThrow();
  });
});
