/**
 * The monthly cost model: from a stack's resolved vars, the synthesized components and the price
 * table to line items per component. Pure (no I/O), so tests can compute a small case by hand.
 *
 * Volumes follow from the throughput, the record size and the stack's settings; where a figure
 * depends on something the stack cannot know (record size, distinct customers, handler speed,
 * log volume...) it is an Assumption, printed with the estimate. Billing units: GB = 2^30 bytes
 * (AWS billing), MB/s in the flags = 10^6 bytes per second (the blueprint's table).
 */
import type { TerraformJson } from '../../test/support/synth';
import { unitPrice, type PriceTable, type UnitPrice } from './prices';
import { unpricedTypes } from './rules';
import { alarmMetrics, countOf, resourceInstances, varValue, type ResourceInstance, type Vars } from './resources';

export const GIB = 1024 ** 3;
/** AWS Lambda allocates one full vCPU at 1,769 MB (Lambda developer guide, memory and computing power). */
export const LAMBDA_MB_PER_VCPU = 1769;
/** Kinesis shard write limits: 1 MiB/s and 1,000 records/s (kds-page; Kinesis quotas). */
export const SHARD_BYTES_PER_SECOND = 1024 ** 2;
export const SHARD_RECORDS_PER_SECOND = 1000;
/** A new on-demand stream has 4 shards' capacity and scales to twice the peak it sees. */
export const ON_DEMAND_MIN_SHARDS = 4;
/** Flink: running application storage allocated per KPU (Flink application resources doc). */
export const FLINK_STORAGE_GB_PER_KPU = 50;
/** DAX keeps an item 5 minutes by default (item cache TTL), so each key is read from DynamoDB at most once per 300 s. */
export const DAX_ITEM_TTL_SECONDS = 300;

/** Everything the estimate assumes beyond the stack's own settings. */
export interface Assumptions {
  /** Raw events into the ingest stream, bytes per second. */
  readonly throughputBytesPerSecond: number;
  /** Average raw event size in bytes. */
  readonly recordBytes: number;
  /** Billed hours in the month (AWS uses 730). */
  readonly hours: number;
  /** Distinct customer ids in the traffic (keys of the lookup table and of the Flink windows). */
  readonly customers: number;
  /** Bytes the enrichment adds to an event (record_type + customer_name + profile fields). */
  readonly enrichmentBytes: number;
  /** Size of one aggregate record on the output stream. */
  readonly aggregateBytes: number;
  /** Size of one customer profile item in DynamoDB (≤ 4 KB: 0.5 RRU per eventually consistent read). */
  readonly profileBytes: number;
  /** GZIP output size / raw JSON size of the archive. */
  readonly archiveCompressionRatio: number;
  /** Handler speed on one full vCPU, records/s (bench/lambda-enrichment.ts headline, batches of 500). */
  readonly handlerRecordsPerVcpuSecond: number;
  /** Network time per batch (BatchGetItem + PutRecords round trips), ms. */
  readonly ioMsPerBatch: number;
  /** Override: billed duration per batch, ms (else derived from the two figures above). */
  readonly durationMsPerBatch?: number;
  /** Override: the in-process cache's hit rate (else derived from the cache settings). */
  readonly hitRate?: number;
  /** Ingest throughput one KPU handles, MiB/s (for autoscaling). */
  readonly flinkMibPerSecondPerKpu: number;
  /** Flink keyed state per customer (window count), bytes, for the snapshot size. */
  readonly flinkStateBytesPerCustomer: number;
  /** CloudWatch log bytes per Lambda invocation (START/END/REPORT + EMF metrics + INFO lines). */
  readonly lambdaLogBytesPerInvocation: number;
  /** Flink application log bytes per hour at INFO. */
  readonly flinkLogBytesPerHour: number;
  /** OpenSearch audit log bytes per bulk request; application log bytes per hour. */
  readonly opensearchAuditBytesPerRequest: number;
  readonly opensearchAppLogBytesPerHour: number;
  /** KMS data-key requests per (client, shard) per hour on an encrypted stream (keys reused ~5 min). */
  readonly kmsRequestsPerClientShardHour: number;
  /** Size of the Flink job jar in the artifacts bucket, bytes. */
  readonly flinkJarBytes: number;
}

export const DEFAULT_ASSUMPTIONS: Omit<Assumptions, 'throughputBytesPerSecond'> = {
  recordBytes: 1024,
  hours: 730,
  customers: 10_000,
  enrichmentBytes: 200,
  aggregateBytes: 200,
  profileBytes: 1024,
  archiveCompressionRatio: 0.25,
  handlerRecordsPerVcpuSecond: 10_038,
  ioMsPerBatch: 40,
  flinkMibPerSecondPerKpu: 1,
  flinkStateBytesPerCustomer: 100,
  lambdaLogBytesPerInvocation: 1500,
  flinkLogBytesPerHour: 1e6,
  opensearchAuditBytesPerRequest: 1000,
  opensearchAppLogBytesPerHour: 1e5,
  kmsRequestsPerClientShardHour: 12,
  flinkJarBytes: 60e6,
};

/** One line of the estimate, in the shape of the --json document. */
export interface LineItem {
  readonly name: string;
  readonly usd_month: number | 'unknown';
  readonly quantity: number;
  readonly unit: string;
  readonly unit_price_usd: UnitPrice;
  /** The price-table entry (not part of the schema; kept for traceability). */
  readonly price: string;
}

export interface ComponentCost {
  readonly total_usd_month: number;
  /** Items whose price is unknown (their cost is not in the total). */
  readonly unknown_items: number;
  readonly items: LineItem[];
}

export interface Estimate {
  readonly stack: string;
  readonly region: string;
  readonly throughput_mb_s: number;
  /** Sum of every known item; unknown items are listed, never guessed. */
  readonly total_usd_month: number;
  readonly unknown_items: number;
  readonly price_table: { readonly region: string; readonly read: string };
  readonly assumptions: Record<string, number | string>;
  readonly warnings: string[];
  readonly components: Record<string, ComponentCost>;
}

export interface StackInput {
  readonly stack: string;
  readonly region: string;
  /** Resolved vars per Atmos component (atmos describe stacks). */
  readonly vars: Readonly<Record<string, Vars>>;
  /** Synthesized Terraform JSON per component. */
  readonly tf: Readonly<Record<string, TerraformJson>>;
  /** Distinct custom metric names the enrichment handler emits (Powertools, one dimension set). */
  readonly lambdaMetricNames: readonly string[];
}

class Items {
  readonly items: LineItem[] = [];
  constructor(private readonly prices: PriceTable) {}

  /** Adds quantity × price. A zero quantity costs 0 even when the price is unknown. */
  add(name: string, quantity: number, unit: string, priceKey: string): void {
    const p = unitPrice(this.prices, priceKey);
    const usd = quantity === 0 ? 0 : p === 'unknown' ? 'unknown' : quantity * p;
    this.items.push({ name, usd_month: usd, quantity, unit, unit_price_usd: p, price: priceKey });
  }

  cost(): ComponentCost {
    let total = 0;
    let unknown = 0;
    for (const i of this.items) {
      if (i.usd_month === 'unknown') unknown++;
      else total += i.usd_month;
    }
    return { total_usd_month: total, unknown_items: unknown, items: this.items };
  }
}

const ceilTo = (bytes: number, unit: number): number => Math.ceil(bytes / unit) * unit;

/** Steady-state GB-months held when `gbPerMonth` arrives and each byte stays `days` days. */
function heldGbMonths(gbPerMonth: number, days: number, hours: number): number {
  return (gbPerMonth * (days * 24)) / hours;
}

const STORAGE_CLASS_PRICE: Readonly<Record<string, string>> = {
  STANDARD_IA: 's3.standard_ia_gb_month',
  INTELLIGENT_TIERING: 's3.intelligent_tiering_gb_month',
  GLACIER_IR: 's3.glacier_ir_gb_month',
  GLACIER: 's3.glacier_gb_month',
  DEEP_ARCHIVE: 's3.deep_archive_gb_month',
};

/**
 * The in-process LRU cache's expected hit rate, for uniformly spread customers: each of
 * `concurrency` handler instances sees customers/concurrency keys (partition key = customer id);
 * it holds min(entries, keys) of them and refetches each held key once per TTL.
 *   hit = max(0, share held − held / records per TTL)
 */
export function cacheHitRate(args: {
  customers: number;
  concurrency: number;
  entries: number;
  ttlSeconds: number;
  recordsPerSecond: number;
}): number {
  if (args.entries <= 0 || args.ttlSeconds <= 0 || args.recordsPerSecond <= 0) return 0;
  const keys = Math.max(1, args.customers / args.concurrency);
  const held = Math.min(args.entries, keys);
  const recordsPerTtl = (args.recordsPerSecond / args.concurrency) * args.ttlSeconds;
  return Math.max(0, held / keys - held / recordsPerTtl);
}

export interface StreamTraffic {
  /** Records per month and their size, per producer kind. */
  readonly records: readonly { readonly count: number; readonly bytes: number }[];
  /** Readers that poll (shared throughput) and readers through enhanced fan-out. */
  readonly pollingReaders: number;
  readonly efoReaders: number;
  /** Clients holding KMS data keys per shard (producers + readers). */
  readonly clients: number;
}

interface StreamShape {
  readonly mode: 'ON_DEMAND' | 'PROVISIONED';
  readonly shards: number;
}

/** Shards a stream runs with: the provisioned count, or the on-demand estimate. */
function streamShape(
  component: string,
  tf: TerraformJson,
  vars: Vars,
  traffic: StreamTraffic,
  hours: number,
  warnings: string[],
): StreamShape {
  const mode = varValue(tf, vars, 'stream_mode') as 'ON_DEMAND' | 'PROVISIONED';
  const seconds = hours * 3600;
  const bytesPerSecond = traffic.records.reduce((n, r) => n + r.count * r.bytes, 0) / seconds;
  const recordsPerSecond = traffic.records.reduce((n, r) => n + r.count, 0) / seconds;
  const needed = Math.max(bytesPerSecond / SHARD_BYTES_PER_SECOND, recordsPerSecond / SHARD_RECORDS_PER_SECOND);
  if (mode === 'ON_DEMAND') return { mode, shards: Math.max(ON_DEMAND_MIN_SHARDS, Math.ceil(2 * needed)) };
  const shards = varValue(tf, vars, 'shard_count');
  if (typeof shards !== 'number') throw new Error(`${component}: stream_mode PROVISIONED needs shard_count`);
  if (shards < needed) {
    warnings.push(
      `${component}: ${shards} shard(s) take ${((shards * SHARD_BYTES_PER_SECOND) / 1e6).toFixed(2)} MB/s and ${shards * SHARD_RECORDS_PER_SECOND} records/s; the traffic needs ${Math.ceil(needed)} (writes would be throttled)`,
    );
  }
  if (traffic.pollingReaders * bytesPerSecond > shards * 2 * SHARD_BYTES_PER_SECOND) {
    warnings.push(
      `${component}: ${traffic.pollingReaders} polling reader(s) need more than the 2 MiB/s per shard they share`,
    );
  }
  return { mode, shards };
}

function streamItems(
  out: Items,
  tf: TerraformJson,
  vars: Vars,
  traffic: StreamTraffic,
  shape: StreamShape,
  instances: readonly ResourceInstance[],
  a: Assumptions,
): void {
  const retention = varValue(tf, vars, 'retention_period_hours') as number;
  // Data in and out are metered per record rounded up to 1 KB (kds-page, Key terms).
  const billedBytes = traffic.records.reduce((n, r) => n + r.count * ceilTo(r.bytes, 1024), 0);
  const rawBytes = traffic.records.reduce((n, r) => n + r.count * r.bytes, 0);
  const gbIn = billedBytes / GIB;
  // Bytes held beyond 24 h (up to 7 days) and beyond 7 days, at a steady rate.
  const gbPerHour = rawBytes / GIB / a.hours;
  const extendedGb = gbPerHour * Math.max(0, Math.min(retention, 168) - 24);
  const longTermGb = gbPerHour * Math.max(0, retention - 168);
  const registeredConsumers = countOf(instances, 'aws_kinesis_stream_consumer');
  if (shape.mode === 'ON_DEMAND') {
    out.add('Stream hours (on-demand)', a.hours, 'stream-hours', 'kinesis.on_demand.stream_hour');
    out.add('Data in (records rounded up to 1 KB)', gbIn, 'GB', 'kinesis.on_demand.data_in_gb');
    out.add(
      `Data out, ${traffic.pollingReaders} polling reader(s)`,
      gbIn * traffic.pollingReaders,
      'GB',
      'kinesis.on_demand.data_out_gb',
    );
    out.add(
      `Data out, ${traffic.efoReaders} enhanced fan-out reader(s)`,
      gbIn * traffic.efoReaders,
      'GB',
      'kinesis.on_demand.efo_data_out_gb',
    );
    out.add(
      `Extended retention (${Math.min(retention, 168)} h)`,
      extendedGb,
      'GB-months',
      'kinesis.on_demand.extended_retention_gb_month',
    );
    out.add(
      'Long-term retention (beyond 7 days)',
      longTermGb,
      'GB-months',
      'kinesis.on_demand.long_term_retention_gb_month',
    );
  } else {
    const putUnits = traffic.records.reduce((n, r) => n + r.count * Math.ceil(r.bytes / 25_600), 0);
    out.add(
      `Shard hours (${shape.shards} shards)`,
      shape.shards * a.hours,
      'shard-hours',
      'kinesis.provisioned.shard_hour',
    );
    out.add('PUT payload units (25 KB)', putUnits, 'units', 'kinesis.provisioned.put_payload_unit');
    out.add(
      'Extended retention (24 h to 7 days)',
      retention > 24 ? shape.shards * a.hours : 0,
      'shard-hours',
      'kinesis.provisioned.extended_retention_shard_hour',
    );
    out.add(
      'Long-term retention (beyond 7 days)',
      longTermGb,
      'GB-months',
      'kinesis.provisioned.long_term_retention_gb_month',
    );
    out.add(
      `Enhanced fan-out consumers (${registeredConsumers} registered)`,
      registeredConsumers * shape.shards * a.hours,
      'consumer-shard-hours',
      'kinesis.provisioned.efo_consumer_shard_hour',
    );
    out.add(
      `Data out, ${traffic.efoReaders} enhanced fan-out reader(s)`,
      gbIn * traffic.efoReaders,
      'GB',
      'kinesis.provisioned.efo_data_out_gb',
    );
  }
  const shardMetrics = (varValue(tf, vars, 'shard_level_metrics') as unknown[]).length;
  out.add(
    `Shard-level metrics (${shardMetrics} × ${shape.shards} shards)`,
    shardMetrics * shape.shards * (a.hours / 730),
    'metric-months',
    'cloudwatch.custom_metric_month',
  );
  // Server-side encryption with the AWS-managed key: no key fee, but data-key requests.
  out.add(
    'KMS requests (stream encryption data keys)',
    traffic.clients * shape.shards * a.kmsRequestsPerClientShardHour * a.hours,
    'requests',
    'kms.request',
  );
}

function alarmItems(out: Items, instances: readonly ResourceInstance[], hours: number): void {
  const { alarms, metrics } = alarmMetrics(instances);
  out.add(
    `CloudWatch alarms (${alarms} alarms, ${metrics} metrics)`,
    metrics * (hours / 730),
    'alarm-metric-months',
    'cloudwatch.alarm_metric_month',
  );
}

function logItems(out: Items, what: string, gbPerMonth: number, retentionDays: number, hours: number): void {
  out.add(`Log ingestion (${what})`, gbPerMonth, 'GB', 'cloudwatch.logs_ingestion_gb');
  out.add(
    `Log storage (${retentionDays} days retention)`,
    heldGbMonths(gbPerMonth, retentionDays, hours) * (hours / 730),
    'GB-months',
    'cloudwatch.logs_storage_gb_month',
  );
}

function keyItems(out: Items, instances: readonly ResourceInstance[], hours: number, requests: number): void {
  const keys = countOf(instances, 'aws_kms_key');
  out.add(`KMS customer keys (${keys})`, keys * (hours / 730), 'key-months', 'kms.key_month');
  if (keys > 0) out.add('KMS requests', requests, 'requests', 'kms.request');
}

/** Volumes on both streams for a stack and assumptions (shared by the estimate and --blueprint-table). */
export function traffic(input: StackInput, a: Assumptions) {
  const v = (c: string, n: string): unknown => {
    const tf = input.tf[c];
    const vars = input.vars[c];
    if (!tf || !vars) throw new Error(`stack ${input.stack} has no component ${c}`);
    return varValue(tf, vars, n);
  };
  const seconds = a.hours * 3600;
  const recordsPerSecond = a.throughputBytesPerSecond / a.recordBytes;
  const events = recordsPerSecond * seconds;
  const rawBytes = events * a.recordBytes;
  // Readers of the ingest stream, from the readers' own settings.
  const lambdaConsumer = v('lambda-enrichment', 'efo_consumer_name');
  const lambdaEfo = lambdaConsumer !== null && lambdaConsumer !== '';
  const flinkEfo = v('kinesis-analytics', 'input_reader') === 'EFO';
  const ingestTraffic: StreamTraffic = {
    records: [{ count: events, bytes: a.recordBytes }],
    pollingReaders: 1 + (lambdaEfo ? 0 : 1) + (flinkEfo ? 0 : 1), // firehose-s3 always polls
    efoReaders: (lambdaEfo ? 1 : 0) + (flinkEfo ? 1 : 0),
    clients: 1 + 3, // producers + the three readers
  };
  // Flink aggregates: one per active customer per window.
  const windows = (a.hours * 60) / (v('kinesis-analytics', 'window_size_minutes') as number);
  const aggregates = windows * Math.min(a.customers, events / windows);
  const enrichedBytes = a.recordBytes + a.enrichmentBytes;
  const outputTraffic: StreamTraffic = {
    records: [
      { count: events, bytes: enrichedBytes },
      { count: aggregates, bytes: a.aggregateBytes },
    ],
    pollingReaders: 1, // firehose-opensearch
    efoReaders: 0,
    clients: 3, // Lambda and Flink write, Firehose reads
  };
  return { recordsPerSecond, events, rawBytes, aggregates, enrichedBytes, ingestTraffic, outputTraffic };
}

/** Shards a stream needs for its writes: max(MiB/s, records/s ÷ 1000), rounded up. */
export function shardsNeeded(t: StreamTraffic, hours: number): number {
  const seconds = hours * 3600;
  const bytes = t.records.reduce((n, r) => n + r.count * r.bytes, 0) / seconds;
  const records = t.records.reduce((n, r) => n + r.count, 0) / seconds;
  return Math.max(1, Math.ceil(Math.max(bytes / SHARD_BYTES_PER_SECOND, records / SHARD_RECORDS_PER_SECOND)));
}

/** The estimate for one stack. */
export function estimate(input: StackInput, prices: PriceTable, a: Assumptions): Estimate {
  if (input.region !== prices.region)
    throw new Error(`stack ${input.stack} is in ${input.region}, the price table is for ${prices.region}`);
  const unpriced = unpricedTypes(input.tf);
  if (unpriced.length > 0)
    throw new Error(`resource types without a price rule (add them to scripts/cost/rules.ts): ${unpriced.join(', ')}`);
  const warnings: string[] = [];
  const need = (
    c: string,
  ): { tf: TerraformJson; vars: Vars; v: (n: string) => unknown; instances: ResourceInstance[] } => {
    const tf = input.tf[c];
    const vars = input.vars[c];
    if (!tf || !vars) throw new Error(`stack ${input.stack} has no component ${c}`);
    return { tf, vars, v: (n) => varValue(tf, vars, n), instances: resourceInstances(tf, vars) };
  };
  const ingest = need('kinesis-ingest');
  const output = need('kinesis-output');
  const lambda = need('lambda-enrichment');
  const lookup = need('dynamodb-lookup');
  const flink = need('kinesis-analytics');
  const archive = need('firehose-s3');
  const search = need('firehose-opensearch');
  const domain = need('opensearch');
  const monitoring = need('monitoring');
  const timestream = need('timestream');

  const seconds = a.hours * 3600;
  const { recordsPerSecond, events, rawBytes, aggregates, enrichedBytes, ingestTraffic, outputTraffic } = traffic(
    input,
    a,
  );
  const ingestShape = streamShape('kinesis-ingest', ingest.tf, ingest.vars, ingestTraffic, a.hours, warnings);
  const outputShape = streamShape('kinesis-output', output.tf, output.vars, outputTraffic, a.hours, warnings);
  const components: Record<string, ComponentCost> = {};

  // --- kinesis-ingest
  {
    const out = new Items(prices);
    streamItems(out, ingest.tf, ingest.vars, ingestTraffic, ingestShape, ingest.instances, a);
    alarmItems(out, ingest.instances, a.hours);
    components['kinesis-ingest'] = out.cost();
  }
  // --- kinesis-output
  {
    const out = new Items(prices);
    streamItems(out, output.tf, output.vars, outputTraffic, outputShape, output.instances, a);
    alarmItems(out, output.instances, a.hours);
    components['kinesis-output'] = out.cost();
  }

  // --- lambda-enrichment
  const parallelization = lambda.v('parallelization_factor') as number;
  const reserved = lambda.v('reserved_concurrency') as number;
  const concurrency = Math.max(
    1,
    reserved >= 0 ? Math.min(reserved, ingestShape.shards * parallelization) : ingestShape.shards * parallelization,
  );
  const batchSize = lambda.v('batch_size') as number;
  const windowSeconds = lambda.v('batching_window_seconds') as number;
  const memoryMb = lambda.v('memory_size_mb') as number;
  const vcpu = Math.min(1, memoryMb / LAMBDA_MB_PER_VCPU);
  const perContainer = recordsPerSecond / concurrency;
  // A batch closes when it is full or the batching window ends (with no window: when the previous one returns).
  const fillSeconds = windowSeconds > 0 ? windowSeconds : a.ioMsPerBatch / 1000;
  const effectiveBatch = Math.max(1, Math.min(batchSize, perContainer * fillSeconds));
  const invocations = events / effectiveBatch;
  const durationMs =
    a.durationMsPerBatch ?? a.ioMsPerBatch + (effectiveBatch * 1000) / (a.handlerRecordsPerVcpuSecond * vcpu);
  if (effectiveBatch / (durationMs / 1000) < perContainer) {
    warnings.push(
      `lambda-enrichment: each of ${concurrency} concurrent batches processes ${(effectiveBatch / (durationMs / 1000)).toFixed(0)} records/s but receives ${perContainer.toFixed(0)}; the mapping falls behind (raise parallelization_factor, batch_size or memory_size_mb)`,
    );
  }
  const hitRate =
    a.hitRate ??
    cacheHitRate({
      customers: a.customers,
      concurrency,
      entries: lambda.v('cache_max_entries') as number,
      ttlSeconds: lambda.v('cache_ttl_seconds') as number,
      recordsPerSecond,
    });
  const lookups = events * (1 - hitRate);
  {
    const out = new Items(prices);
    const fn = lambda.instances.find((r) => r.type === 'aws_lambda_function');
    const arch = ((fn?.block.architectures as string[] | undefined) ?? ['x86_64'])[0]!;
    if (arch !== 'arm64' && arch !== 'x86_64')
      throw new Error(`lambda-enrichment: architecture ${arch} has no price rule`);
    out.add('Requests (invocations)', invocations, 'requests', 'lambda.request');
    out.add(
      `Duration (${arch}, ${memoryMb} MB, ${durationMs.toFixed(0)} ms per batch of ${effectiveBatch.toFixed(0)})`,
      invocations * (durationMs / 1000) * (memoryMb / 1024),
      'GB-seconds',
      `lambda.${arch}.gb_second`,
    );
    out.add(
      `Custom metrics (${input.lambdaMetricNames.length}, Powertools EMF)`,
      input.lambdaMetricNames.length * (a.hours / 730),
      'metric-months',
      'cloudwatch.custom_metric_month',
    );
    out.add('SQS requests (dead-letter and on-failure queues; no failures assumed)', 0, 'requests', 'sqs.request');
    logItems(
      out,
      'function logs',
      (invocations * a.lambdaLogBytesPerInvocation) / GIB,
      lambda.v('log_retention_days') as number,
      a.hours,
    );
    alarmItems(out, lambda.instances, a.hours);
    components['lambda-enrichment'] = out.cost();
  }

  // --- dynamodb-lookup: reads after the cache (and DAX when the function uses it)
  {
    const out = new Items(prices);
    const daxNodes =
      countOf(lookup.instances, 'aws_dax_cluster') > 0 ? (lookup.v('dax_replication_factor') as number) : 0;
    const viaDax = daxNodes > 0 && lambda.v('dax_endpoint') !== '';
    const tableReads = viaDax ? Math.min(lookups, a.customers * (seconds / DAX_ITEM_TTL_SECONDS)) : lookups;
    const rruPerRead = 0.5 * Math.ceil(a.profileBytes / 4096); // eventually consistent BatchGetItem
    out.add(
      `Read request units (${(hitRate * 100).toFixed(1)} % cache hits${viaDax ? ', then DAX' : ''})`,
      tableReads * rruPerRead,
      'RRU',
      'dynamodb.on_demand.read_request_unit',
    );
    const tableGb = (a.customers * a.profileBytes) / GIB;
    out.add('Table storage', tableGb * (a.hours / 730), 'GB-months', 'dynamodb.storage_gb_month');
    out.add('Point-in-time recovery', tableGb * (a.hours / 730), 'GB-months', 'dynamodb.pitr_gb_month');
    if (daxNodes > 0) {
      const nodeType = lookup.v('dax_node_type') as string;
      out.add(`DAX nodes (${daxNodes} × ${nodeType})`, daxNodes * a.hours, 'node-hours', `dax.node_hour.${nodeType}`);
    }
    alarmItems(out, lookup.instances, a.hours);
    components['dynamodb-lookup'] = out.cost();
  }

  // --- kinesis-analytics (Flink)
  {
    const out = new Items(prices);
    const running = flink.v('start_application') === true;
    const configured = Math.ceil((flink.v('parallelism') as number) / (flink.v('parallelism_per_kpu') as number));
    const forLoad =
      flink.v('autoscaling_enabled') === true
        ? Math.ceil(a.throughputBytesPerSecond / SHARD_BYTES_PER_SECOND / a.flinkMibPerSecondPerKpu)
        : 0;
    const kpus = Math.max(configured, forLoad);
    const hours = running ? a.hours : 0;
    out.add(
      `KPUs (${kpus} for the job${forLoad > configured ? ', autoscaled for load' : ''})`,
      kpus * hours,
      'KPU-hours',
      'flink.kpu_hour',
    );
    out.add('Orchestration KPU (1 per application)', hours, 'KPU-hours', 'flink.kpu_hour');
    out.add(
      `Running application storage (${FLINK_STORAGE_GB_PER_KPU} GB per KPU)`,
      kpus * FLINK_STORAGE_GB_PER_KPU * (hours / 730),
      'GB-months',
      'flink.running_storage_gb_month',
    );
    const snapshots = flink.v('snapshots_enabled') === true;
    out.add(
      'Durable backups (snapshots of the window state)',
      snapshots ? ((a.customers * a.flinkStateBytesPerCustomer) / GIB) * (a.hours / 730) : 0,
      'GB-months',
      'flink.backup_gb_month',
    );
    out.add(
      'Artifacts bucket (job jar)',
      (a.flinkJarBytes / GIB) * (a.hours / 730),
      'GB-months',
      's3.standard_gb_month',
    );
    keyItems(out, flink.instances, a.hours, 0);
    logItems(
      out,
      'application logs',
      (a.flinkLogBytesPerHour * hours) / GIB,
      flink.v('log_retention_days') as number,
      a.hours,
    );
    alarmItems(out, flink.instances, a.hours);
    components['kinesis-analytics'] = out.cost();
  }

  // --- firehose-s3: ingestion (5 KB rounding), dynamic partitioning, the archive over its lifecycle
  {
    const out = new Items(prices);
    const dynamic = archive.v('dynamic_partitioning_enabled') === true;
    const bufferBytes = (archive.v('buffering_size_mb') as number) * 1024 ** 2;
    const interval = archive.v('buffering_interval_seconds') as number;
    // One active partition (the current event hour); an object per buffer flush, which comes
    // when the buffer is full or the interval ends, whichever is first.
    const objects = Math.ceil(Math.max(interval > 0 ? seconds / interval : 0, rawBytes / bufferBytes));
    out.add(
      'Ingestion (records rounded up to 5 KB)',
      (events * ceilTo(a.recordBytes, 5120)) / GIB,
      'GB',
      'firehose.ingestion_gb',
    );
    out.add('Dynamic partitioning: data', dynamic ? rawBytes / GIB : 0, 'GB', 'firehose.dynamic_partitioning_gb');
    out.add(
      'Dynamic partitioning: objects delivered',
      dynamic ? objects : 0,
      'objects',
      'firehose.dynamic_partitioning_object',
    );
    out.add('Dynamic partitioning: JQ processing', dynamic ? a.hours : 0, 'hours', 'firehose.jq_processing_hour');
    const gbPerMonth = (rawBytes * a.archiveCompressionRatio) / GIB;
    const transition = archive.v('archive_transition_days') as number;
    const expiration = archive.v('archive_expiration_days') as number;
    const coldClass = archive.v('archive_transition_storage_class') as string;
    const coldPrice = STORAGE_CLASS_PRICE[coldClass];
    if (!coldPrice) throw new Error(`firehose-s3: storage class ${coldClass} has no price rule`);
    out.add(
      `Archive in S3 Standard (first ${Math.min(transition, expiration)} days, GZIP)`,
      heldGbMonths(gbPerMonth, Math.min(transition, expiration), a.hours) * (a.hours / 730),
      'GB-months',
      's3.standard_gb_month',
    );
    out.add(
      `Archive in ${coldClass} (days ${transition}-${expiration})`,
      heldGbMonths(gbPerMonth, Math.max(0, expiration - transition), a.hours) * (a.hours / 730),
      'GB-months',
      coldPrice,
    );
    out.add('S3 PUT requests (one per object)', objects, 'requests', 's3.put_request');
    out.add(
      `Lifecycle transitions to ${coldClass}`,
      expiration > transition ? objects : 0,
      'requests',
      's3.lifecycle_transition_request',
    );
    keyItems(out, archive.instances, a.hours, objects); // S3 Bucket Key on: at most one request per object
    logItems(out, 'delivery errors; none assumed', 0, archive.v('log_retention_days') as number, a.hours);
    alarmItems(out, archive.instances, a.hours);
    components['firehose-s3'] = out.cost();
  }

  // --- firehose-opensearch
  const outputRawBytes = events * enrichedBytes + aggregates * a.aggregateBytes;
  const bulkRequests = Math.ceil(
    Math.max(
      (search.v('buffering_interval_seconds') as number) > 0
        ? seconds / (search.v('buffering_interval_seconds') as number)
        : 0,
      outputRawBytes / ((search.v('buffering_size_mb') as number) * 1024 ** 2),
    ),
  );
  {
    const out = new Items(prices);
    out.add(
      'Ingestion (records rounded up to 5 KB)',
      (events * ceilTo(enrichedBytes, 5120) + aggregates * ceilTo(a.aggregateBytes, 5120)) / GIB,
      'GB',
      'firehose.ingestion_gb',
    );
    out.add('Backup bucket (failed documents only; none assumed)', 0, 'GB-months', 's3.standard_gb_month');
    keyItems(out, search.instances, a.hours, 0);
    logItems(out, 'delivery errors; none assumed', 0, search.v('log_retention_days') as number, a.hours);
    alarmItems(out, search.instances, a.hours);
    components['firehose-opensearch'] = out.cost();
  }

  // --- opensearch
  {
    const out = new Items(prices);
    const count = domain.v('instance_count') as number;
    const type = domain.v('instance_type') as string;
    out.add(`Data nodes (${count} × ${type})`, count * a.hours, 'instance-hours', `opensearch.instance_hour.${type}`);
    if (domain.v('dedicated_master_enabled') === true) {
      const masters = domain.v('dedicated_master_count') as number;
      const mtype = domain.v('dedicated_master_type') as string;
      out.add(
        `Dedicated masters (${masters} × ${mtype})`,
        masters * a.hours,
        'instance-hours',
        `opensearch.instance_hour.${mtype}`,
      );
    }
    const volume = domain.v('ebs_volume_size_gb') as number;
    out.add(
      `EBS gp3 storage (${count} × ${volume} GB)`,
      count * volume * (a.hours / 730),
      'GB-months',
      'opensearch.gp3_storage_gb_month',
    );
    out.add(
      'gp3 IOPS above 3,000',
      count * Math.max(0, (domain.v('ebs_iops') as number) - 3000) * (a.hours / 730),
      'IOPS-months',
      'opensearch.gp3_iops_month',
    );
    out.add(
      'gp3 throughput above 125 MiB/s',
      count * Math.max(0, (domain.v('ebs_throughput_mibps') as number) - 125) * (a.hours / 730),
      'MiB/s-months',
      'opensearch.gp3_throughput_mibps_month',
    );
    const retention = domain.v('log_retention_days') as number;
    logItems(
      out,
      'audit logs, one entry per bulk request',
      (bulkRequests * a.opensearchAuditBytesPerRequest) / GIB,
      retention,
      a.hours,
    );
    logItems(out, 'application logs', (a.opensearchAppLogBytesPerHour * a.hours) / GIB, retention, a.hours);
    alarmItems(out, domain.instances, a.hours);
    components.opensearch = out.cost();
    const indexGbPerDay = outputRawBytes / (a.hours / 24) / GIB;
    if (indexGbPerDay * 30 > count * volume) {
      warnings.push(
        `opensearch: 30 days of events-* indices (~${(indexGbPerDay * 30).toFixed(0)} GB before replicas) exceed the ${count * volume} GB of EBS storage; delete old indices or grow the volumes`,
      );
    }
  }

  // --- monitoring
  {
    const out = new Items(prices);
    const dashboards = countOf(monitoring.instances, 'aws_cloudwatch_dashboard');
    out.add(
      `Dashboards (${dashboards})`,
      dashboards * (a.hours / 730),
      'dashboard-months',
      'cloudwatch.dashboard_month',
    );
    out.add('SNS publishes (alarm state changes; few)', 0, 'requests', 'sns.publish_request');
    keyItems(out, monitoring.instances, a.hours, 0);
    alarmItems(out, monitoring.instances, a.hours);
    components.monitoring = out.cost();
  }

  // --- timestream (only when enabled)
  {
    const out = new Items(prices);
    const tables = countOf(timestream.instances, 'aws_timestreamwrite_table');
    const writes = tables > 0 && flink.v('timestream_enabled') === true ? aggregates : 0;
    out.add('Writes (one 1 KB write per aggregate)', writes, 'writes', 'timestream.write_1kb');
    const memoryHours = timestream.v('memory_store_retention_hours') as number;
    const gbPerHour = (writes * a.aggregateBytes) / GIB / a.hours;
    out.add(
      `Memory store (${memoryHours} h)`,
      gbPerHour * memoryHours * a.hours,
      'GB-hours',
      'timestream.memory_store_gb_hour',
    );
    out.add(
      `Magnetic store (${timestream.v('magnetic_store_retention_days')} days)`,
      heldGbMonths(gbPerHour * a.hours, timestream.v('magnetic_store_retention_days') as number, a.hours) *
        (a.hours / 730),
      'GB-months',
      'timestream.magnetic_store_gb_month',
    );
    alarmItems(out, timestream.instances, a.hours);
    components.timestream = out.cost();
  }

  let total = 0;
  let unknown = 0;
  for (const c of Object.values(components)) {
    total += c.total_usd_month;
    unknown += c.unknown_items;
  }
  return {
    stack: input.stack,
    region: input.region,
    throughput_mb_s: a.throughputBytesPerSecond / 1e6,
    total_usd_month: total,
    unknown_items: unknown,
    price_table: { region: prices.region, read: prices.read },
    assumptions: {
      record_bytes: a.recordBytes,
      hours: a.hours,
      records_per_second: recordsPerSecond,
      ingest_readers: `${ingestTraffic.pollingReaders} polling + ${ingestTraffic.efoReaders} enhanced fan-out`,
      ingest_shards: `${ingestShape.shards} (${ingestShape.mode === 'ON_DEMAND' ? 'on-demand estimate: max(4, 2 × needed)' : 'provisioned'})`,
      customers: a.customers,
      cache_hit_rate: hitRate,
      lambda_concurrency: concurrency,
      records_per_batch: effectiveBatch,
      duration_ms_per_batch: durationMs,
      enrichment_bytes: a.enrichmentBytes,
      aggregates_per_month: aggregates,
      archive_compression_ratio: a.archiveCompressionRatio,
      flink_mib_s_per_kpu: a.flinkMibPerSecondPerKpu,
      lambda_log_bytes_per_invocation: a.lambdaLogBytesPerInvocation,
    },
    warnings,
    components,
  };
}
