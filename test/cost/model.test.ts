/**
 * The cost model on a small configuration, line item by line item: every expected figure is
 * worked out here from the settings, the assumptions and the price table's own entries (no
 * copied results), so a change in a formula or a price rule shows up as a named item.
 */
import { describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../components/registry';
import {
  DEFAULT_ASSUMPTIONS,
  estimate,
  GIB,
  type Assumptions,
  type ComponentCost,
  type StackInput,
} from '../../scripts/cost/model';
import { loadPriceTable, type PriceTable } from '../../scripts/cost/prices';
import { readSynthesized } from '../../scripts/cost/resources';
import { REPO_ROOT } from '../support/paths';

const prices = loadPriceTable(REPO_ROOT, 'us-east-1');
const P = (key: string): number => {
  const p = prices.prices[key]!.usd;
  if (p === null) throw new Error(`${key} is unknown in the table`);
  return p;
};
const tf = Object.fromEntries(Object.keys(COMPONENTS).map((c) => [c, readSynthesized(REPO_ROOT, c)]));

/** The smallest useful stack: set only what the model reads; everything else takes its default. */
function smallStack(overrides: Record<string, Record<string, unknown>> = {}): StackInput {
  const base: Record<string, Record<string, unknown>> = {
    'kinesis-ingest': {
      stream_mode: 'ON_DEMAND',
      retention_period_hours: 24,
      efo_consumer_names: ['enrichment', 'analytics'],
    },
    'kinesis-output': { stream_mode: 'PROVISIONED', shard_count: 2, retention_period_hours: 24 },
    'lambda-enrichment': {
      efo_consumer_name: 'enrichment',
      batch_size: 500,
      batching_window_seconds: 1,
      parallelization_factor: 1,
      memory_size_mb: 256,
    },
    'dynamodb-lookup': { dax_enabled: false },
    'kinesis-analytics': { input_reader: 'EFO', window_size_minutes: 5, parallelism: 1, parallelism_per_kpu: 1 },
    'firehose-s3': { dynamic_partitioning_enabled: true, buffering_size_mb: 64, buffering_interval_seconds: 300 },
    'firehose-opensearch': { buffering_size_mb: 5, buffering_interval_seconds: 60 },
    opensearch: {
      instance_type: 't3.medium.search',
      instance_count: 1,
      ebs_volume_size_gb: 20,
      dedicated_master_enabled: false,
    },
    monitoring: {},
    timestream: { enabled: false },
  };
  const vars = Object.fromEntries(Object.entries(base).map(([c, v]) => [c, { ...v, ...overrides[c] }]));
  return { stack: 'small', region: 'us-east-1', vars, tf, lambdaMetricNames: ['A', 'B'] };
}

// 100 records/s of 1,000 bytes for AWS's 730-hour month, 100 customers.
const A: Assumptions = {
  ...DEFAULT_ASSUMPTIONS,
  throughputBytesPerSecond: 100_000,
  recordBytes: 1000,
  customers: 100,
  hours: 730,
};
const SECONDS = 730 * 3600;
const EVENTS = 100 * SECONDS;

function item(c: ComponentCost, prefix: string) {
  const found = c.items.filter((i) => i.name.startsWith(prefix));
  if (found.length !== 1)
    throw new Error(`expected one item starting "${prefix}", found ${found.map((i) => i.name).join(' | ') || 'none'}`);
  return found[0]!;
}

describe('a small stack, by hand', () => {
  const e = estimate(smallStack(), prices, A);
  const closeTo = (actual: number | 'unknown', expected: number): void => {
    expect(actual).not.toBe('unknown');
    expect(actual as number).toBeCloseTo(expected, 9);
  };

  it('kinesis-ingest (on-demand, 1 polling + 2 enhanced fan-out readers)', () => {
    const c = e.components['kinesis-ingest']!;
    const gb = (EVENTS * 1024) / GIB; // 1,000-byte records are metered as 1 KB
    closeTo(item(c, 'Stream hours').usd_month, 730 * P('kinesis.on_demand.stream_hour'));
    closeTo(item(c, 'Data in').usd_month, gb * P('kinesis.on_demand.data_in_gb'));
    closeTo(item(c, 'Data out, 1 polling').usd_month, gb * P('kinesis.on_demand.data_out_gb'));
    closeTo(item(c, 'Data out, 2 enhanced').usd_month, 2 * gb * P('kinesis.on_demand.efo_data_out_gb'));
    closeTo(item(c, 'Extended retention').usd_month, 0);
    // on-demand shards: max(4, 2 × needed) = 4; clients = 1 producer + 3 readers; 12 data keys per client-shard-hour
    closeTo(item(c, 'KMS requests').usd_month, 4 * 4 * 12 * 730 * P('kms.request'));
    // iterator age + write throttle + one consumer-lag alarm per registered consumer
    expect(item(c, 'CloudWatch alarms').name).toBe('CloudWatch alarms (4 alarms, 4 metrics)');
    closeTo(item(c, 'CloudWatch alarms').usd_month, 4 * P('cloudwatch.alarm_metric_month'));
  });

  it('kinesis-output (provisioned, 2 shards): shard hours and PUT payload units', () => {
    const c = e.components['kinesis-output']!;
    const windows = (730 * 60) / 5;
    const aggregates = windows * Math.min(100, EVENTS / windows);
    closeTo(item(c, 'Shard hours (2 shards)').usd_month, 2 * 730 * P('kinesis.provisioned.shard_hour'));
    closeTo(item(c, 'PUT payload units').usd_month, (EVENTS + aggregates) * P('kinesis.provisioned.put_payload_unit'));
    closeTo(item(c, 'Enhanced fan-out consumers (0 registered)').usd_month, 0);
    closeTo(item(c, 'Extended retention').usd_month, 0);
  });

  it('lambda-enrichment: invocations from the batching window, GB-seconds from the handler speed', () => {
    const c = e.components['lambda-enrichment']!;
    const perContainer = 100 / 4; // 4 on-demand shards × parallelization 1
    const batch = Math.min(500, perContainer * 1); // the 1 s batching window closes first
    const invocations = EVENTS / batch;
    const ms = 40 + (batch * 1000) / (10_038 * (256 / 1769));
    closeTo(item(c, 'Requests').usd_month, invocations * P('lambda.request'));
    expect(item(c, 'Duration').name).toBe(`Duration (arm64, 256 MB, ${ms.toFixed(0)} ms per batch of 25)`);
    closeTo(item(c, 'Duration').usd_month, invocations * (ms / 1000) * 0.25 * P('lambda.arm64.gb_second'));
    closeTo(item(c, 'Custom metrics (2').usd_month, 2 * P('cloudwatch.custom_metric_month'));
    const logGb = (invocations * 1500) / GIB;
    closeTo(item(c, 'Log ingestion').usd_month, logGb * P('cloudwatch.logs_ingestion_gb'));
    closeTo(
      item(c, 'Log storage (30 days').usd_month,
      ((logGb * 30 * 24) / 730) * P('cloudwatch.logs_storage_gb_month'),
    );
  });

  it('dynamodb-lookup: reads after the cache hit rate, 0.5 RRU each', () => {
    const c = e.components['dynamodb-lookup']!;
    // per handler instance: 25 customers, all cached; each refetched once per 300 s TTL out of 25 × 300 records
    const hit = 1 - 25 / (25 * 300);
    expect(e.assumptions.cache_hit_rate).toBeCloseTo(hit, 12);
    closeTo(
      item(c, 'Read request units').usd_month,
      EVENTS * (1 - hit) * 0.5 * P('dynamodb.on_demand.read_request_unit'),
    );
    expect(c.items.some((i) => i.name.startsWith('DAX'))).toBe(false);
  });

  it('dynamodb-lookup with DAX: nodes × replication factor, table reads capped by the DAX TTL', () => {
    const withDax = estimate(
      smallStack({
        'dynamodb-lookup': { dax_enabled: true, dax_replication_factor: 3, dax_node_type: 'dax.t3.small' },
        'lambda-enrichment': { dax_endpoint: 'daxs://x' },
      }),
      prices,
      A,
    );
    const c = withDax.components['dynamodb-lookup']!;
    closeTo(item(c, 'DAX nodes (3 × dax.t3.small)').usd_month, 3 * 730 * P('dax.node_hour.dax.t3.small'));
    const hit = 1 - 25 / (25 * 300);
    const tableReads = Math.min(EVENTS * (1 - hit), 100 * (SECONDS / 300));
    closeTo(item(c, 'Read request units').usd_month, tableReads * 0.5 * P('dynamodb.on_demand.read_request_unit'));
  });

  it('kinesis-analytics: job KPUs + the orchestration KPU + 50 GB running storage per job KPU', () => {
    const c = e.components['kinesis-analytics']!;
    closeTo(item(c, 'KPUs (1').usd_month, 730 * P('flink.kpu_hour'));
    closeTo(item(c, 'Orchestration KPU').usd_month, 730 * P('flink.kpu_hour'));
    closeTo(item(c, 'Running application storage').usd_month, 50 * P('flink.running_storage_gb_month'));
    closeTo(item(c, 'KMS customer keys (1)').usd_month, P('kms.key_month'));
  });

  it('firehose-s3: 5 KB ingestion rounding (unknown price) and the archive over its lifecycle', () => {
    const c = e.components['firehose-s3']!;
    const ingest = item(c, 'Ingestion');
    expect(ingest.quantity).toBeCloseTo((EVENTS * 5120) / GIB, 9); // 1,000 bytes are billed as 5 KB
    expect(ingest.unit_price_usd).toBe('unknown');
    expect(ingest.usd_month).toBe('unknown');
    // one object per 300 s flush (the 64 MB buffer never fills at 100 KB/s)
    expect(item(c, 'Dynamic partitioning: objects').quantity).toBe(Math.ceil(SECONDS / 300));
    const gbPerMonth = (EVENTS * 1000 * 0.25) / GIB;
    closeTo(
      item(c, 'Archive in S3 Standard (first 90 days').usd_month,
      ((gbPerMonth * 90 * 24) / 730) * P('s3.standard_gb_month'),
    );
    closeTo(
      item(c, 'Archive in GLACIER_IR (days 90-365)').usd_month,
      ((gbPerMonth * 275 * 24) / 730) * P('s3.glacier_ir_gb_month'),
    );
    closeTo(item(c, 'S3 PUT requests').usd_month, Math.ceil(SECONDS / 300) * P('s3.put_request'));
  });

  it('opensearch: instance price unknown, gp3 storage known', () => {
    const c = e.components.opensearch!;
    const nodes = item(c, 'Data nodes (1 × t3.medium.search)');
    expect(nodes).toMatchObject({
      quantity: 730,
      unit: 'instance-hours',
      unit_price_usd: 'unknown',
      usd_month: 'unknown',
    });
    closeTo(item(c, 'EBS gp3 storage').usd_month, 20 * P('opensearch.gp3_storage_gb_month'));
  });

  it('monitoring: the dashboard and the topic key', () => {
    const c = e.components.monitoring!;
    closeTo(item(c, 'Dashboards (1)').usd_month, P('cloudwatch.dashboard_month'));
    closeTo(item(c, 'KMS customer keys (1)').usd_month, P('kms.key_month'));
  });

  it('totals are the sums of the known items; unknown items are counted, not added', () => {
    let total = 0;
    let unknown = 0;
    for (const c of Object.values(e.components)) {
      const known = c.items.filter((i) => i.usd_month !== 'unknown');
      expect(c.total_usd_month).toBeCloseTo(
        known.reduce((n, i) => n + (i.usd_month as number), 0),
        9,
      );
      expect(c.unknown_items).toBe(c.items.length - known.length);
      total += c.total_usd_month;
      unknown += c.unknown_items;
    }
    expect(e.total_usd_month).toBeCloseTo(total, 9);
    expect(e.unknown_items).toBe(unknown);
    // firehose-s3: ingestion, 3 dynamic-partitioning items, lifecycle transitions; firehose-opensearch: ingestion; opensearch: data nodes
    expect(e.unknown_items).toBe(7);
  });
});

describe('unknown prices', () => {
  it('a price the table marks unknown stays unknown and out of the total', () => {
    const table: PriceTable = {
      ...prices,
      prices: {
        ...prices.prices,
        'kinesis.on_demand.stream_hour': {
          ...prices.prices['kinesis.on_demand.stream_hour']!,
          usd: null,
          status: 'unknown',
        },
      },
    };
    const known = estimate(smallStack(), prices, A);
    const e = estimate(smallStack(), table, A);
    const hours = item(e.components['kinesis-ingest']!, 'Stream hours');
    expect(hours).toMatchObject({ quantity: 730, unit_price_usd: 'unknown', usd_month: 'unknown' });
    expect(e.unknown_items).toBe(known.unknown_items + 1);
    expect(e.total_usd_month).toBeCloseTo(known.total_usd_month - 730 * P('kinesis.on_demand.stream_hour'), 9);
  });

  it('a zero quantity costs nothing even at an unknown price', () => {
    const e = estimate(smallStack(), prices, A);
    expect(item(e.components.opensearch!, 'gp3 IOPS above 3,000')).toMatchObject({
      quantity: 0,
      unit_price_usd: 'unknown',
      usd_month: 0,
    });
  });

  it('a price the table lacks is an error, not unknown', () => {
    const { 'flink.kpu_hour': _drop, ...rest } = prices.prices;
    void _drop;
    expect(() => estimate(smallStack(), { ...prices, prices: rest }, A)).toThrow(
      'price table us-east-1 has no entry "flink.kpu_hour" (add it, with its source, or mark it unknown)',
    );
  });

  it('a stack in another region than the table is refused', () => {
    expect(() => estimate({ ...smallStack(), region: 'eu-west-1' }, prices, A)).toThrow(
      'stack small is in eu-west-1, the price table is for us-east-1',
    );
  });
});

describe('warnings', () => {
  it('too few provisioned shards and a function that falls behind are reported', () => {
    const e = estimate(
      smallStack({
        'kinesis-ingest': { stream_mode: 'PROVISIONED', shard_count: 1 },
        'lambda-enrichment': { memory_size_mb: 128, batching_window_seconds: 0, batch_size: 10 },
      }),
      prices,
      { ...A, throughputBytesPerSecond: 3_000_000 },
    );
    expect(e.warnings).toContain(
      'kinesis-ingest: 1 shard(s) take 1.05 MB/s and 1000 records/s; the traffic needs 3 (writes would be throttled)',
    );
    expect(e.warnings.some((w) => w.startsWith('lambda-enrichment: each of 1 concurrent batches processes'))).toBe(
      true,
    );
  });
});
