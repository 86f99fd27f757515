/**
 * The metric catalogue: every CloudWatch metric the pipeline alarms on or charts, declared once
 * (namespace, name, the dimensions that select one resource, default statistic and period).
 *
 * The alarms (`metricAlarm`/`mathAlarm` through {@link metricOf}) and the monitoring dashboard
 * (through {@link dashboardLine}) are both built from these declarations, so an alarm and the
 * dashboard line of the same metric cannot disagree on its namespace, name or dimensions. The
 * dimensions are a function of what identifies the resource (a function name, a stream name...):
 * a metric whose stream has more than one dimension (AWS/ES needs ClientId beside DomainName, the
 * Flink input lag Application, Flow and Id) is written out once here, where it is documented.
 *
 * This module has no CDKTF imports beyond `Fn`, so both a component and a dashboard can use it.
 */
import { Fn } from 'cdktf';
import { ENRICHMENT_METRICS } from '../lambda-enrichment/contract';
import type { MetricSpec } from './alarms';

/** One CloudWatch metric, for whatever `A` identifies the resource it is published for. */
export interface MetricDefinition<A> {
  readonly namespace: string;
  readonly metricName: string;
  /** The dimensions (name → value, in the order a dashboard lists them) of the resource `of`. */
  readonly dimensions: (of: A) => Readonly<Record<string, string>>;
  /** Default statistic: Sum, Maximum, Minimum, Average or a percentile such as p99. */
  readonly statistic: string;
  /** Period of one datapoint, in seconds, unless an alarm chooses a longer one. @default 60 */
  readonly periodSeconds?: number;
}

function metric<A>(definition: MetricDefinition<A>): MetricDefinition<A> {
  return definition;
}

const byStream = (StreamName: string) => ({ StreamName });
const byFunction = (FunctionName: string) => ({ FunctionName });
const byApplication = (Application: string) => ({ Application });
const byQueue = (QueueName: string) => ({ QueueName });
const byDeliveryStream = (DeliveryStreamName: string) => ({ DeliveryStreamName });
/** AWS/ES metrics carry DomainName *and* ClientId (the account): without ClientId none exists. */
const byDomain = (of: { domainName: string; accountId: string }) => ({
  DomainName: of.domainName,
  ClientId: of.accountId,
});

/** AWS/Kinesis, per stream (and per EFO consumer). */
export const KINESIS = {
  incomingRecords: metric({
    namespace: 'AWS/Kinesis',
    metricName: 'IncomingRecords',
    dimensions: byStream,
    statistic: 'Sum',
  }),
  /** How far the slowest polling reader (GetRecords) is behind, in ms. */
  iteratorAge: metric({
    namespace: 'AWS/Kinesis',
    metricName: 'GetRecords.IteratorAgeMilliseconds',
    dimensions: byStream,
    statistic: 'Maximum',
  }),
  writeThrottled: metric({
    namespace: 'AWS/Kinesis',
    metricName: 'WriteProvisionedThroughputExceeded',
    dimensions: byStream,
    statistic: 'Sum',
  }),
  /** How far one enhanced fan-out consumer is behind, in ms. */
  efoLag: metric({
    namespace: 'AWS/Kinesis',
    metricName: 'SubscribeToShardEvent.MillisBehindLatest',
    dimensions: (of: { streamName: string; consumerName: string }) => ({
      StreamName: of.streamName,
      ConsumerName: of.consumerName,
    }),
    statistic: 'Maximum',
  }),
};

/** AWS/Lambda, per function, and the enrichment handler's own EMF metrics. */
export const LAMBDA = {
  invocations: metric({ namespace: 'AWS/Lambda', metricName: 'Invocations', dimensions: byFunction, statistic: 'Sum' }),
  errors: metric({ namespace: 'AWS/Lambda', metricName: 'Errors', dimensions: byFunction, statistic: 'Sum' }),
  throttles: metric({ namespace: 'AWS/Lambda', metricName: 'Throttles', dimensions: byFunction, statistic: 'Sum' }),
  /** Batch processing time, in ms. */
  duration: metric({ namespace: 'AWS/Lambda', metricName: 'Duration', dimensions: byFunction, statistic: 'p99' }),
  /** How far the event source mapping is behind its stream, in ms. */
  iteratorAge: metric({
    namespace: 'AWS/Lambda',
    metricName: 'IteratorAge',
    dimensions: byFunction,
    statistic: 'Maximum',
  }),
  /**
   * Records the handler reported as batch item failures (lambda-src, Powertools EMF): the only view
   * of partial batch failures, which never count as Errors. Powertools' one dimension, `service`,
   * is POWERTOOLS_SERVICE_NAME, which the component sets to the function name.
   */
  failedRecords: metric({
    namespace: ENRICHMENT_METRICS.namespace,
    metricName: ENRICHMENT_METRICS.failedRecords,
    dimensions: (functionName: string) => ({ [ENRICHMENT_METRICS.serviceDimension]: functionName }),
    statistic: 'Sum',
  }),
};

/** AWS/KinesisAnalytics (Managed Flink), per application. */
export const FLINK = {
  downtime: metric({
    namespace: 'AWS/KinesisAnalytics',
    metricName: 'downtime',
    dimensions: byApplication,
    statistic: 'Maximum',
  }),
  failedCheckpoints: metric({
    namespace: 'AWS/KinesisAnalytics',
    metricName: 'numberOfFailedCheckpoints',
    dimensions: byApplication,
    statistic: 'Maximum',
  }),
  lastCheckpointDuration: metric({
    namespace: 'AWS/KinesisAnalytics',
    metricName: 'lastCheckpointDuration',
    dimensions: byApplication,
    statistic: 'Maximum',
  }),
  /**
   * How far the job is behind its input stream, in ms. Both readers publish it per input stream
   * with Id = the stream name with "-" as "_": EFO through the connector's consumer metrics,
   * POLLING as the job's custom metric kinesisanalytics.Flow.Input.Id.<id>.millisBehindLatest
   * (flink/README.md).
   */
  inputLag: metric({
    namespace: 'AWS/KinesisAnalytics',
    metricName: 'millisBehindLatest',
    dimensions: (of: { application: string; inputStreamName: string }) => ({
      Application: of.application,
      Flow: 'Input',
      Id: Fn.replace(of.inputStreamName, '-', '_'),
    }),
    statistic: 'Maximum',
  }),
};

/** AWS/SQS, per queue. */
export const SQS = {
  messagesVisible: metric({
    namespace: 'AWS/SQS',
    metricName: 'ApproximateNumberOfMessagesVisible',
    dimensions: byQueue,
    statistic: 'Maximum',
  }),
};

/** AWS/Firehose, per delivery stream: age of the oldest record not yet delivered, in seconds. */
export const FIREHOSE = {
  s3Freshness: metric({
    namespace: 'AWS/Firehose',
    metricName: 'DeliveryToS3.DataFreshness',
    dimensions: byDeliveryStream,
    statistic: 'Maximum',
  }),
  openSearchFreshness: metric({
    namespace: 'AWS/Firehose',
    metricName: 'DeliveryToAmazonOpenSearchService.DataFreshness',
    dimensions: byDeliveryStream,
    statistic: 'Maximum',
  }),
};

/** AWS/DynamoDB, per table. */
export const DYNAMODB = {
  readThrottles: metric({
    namespace: 'AWS/DynamoDB',
    metricName: 'ReadThrottleEvents',
    dimensions: (TableName: string) => ({ TableName }),
    statistic: 'Sum',
  }),
};

/** AWS/ES (OpenSearch Service), per domain. */
export const OPENSEARCH = {
  clusterRed: metric({
    namespace: 'AWS/ES',
    metricName: 'ClusterStatus.red',
    dimensions: byDomain,
    statistic: 'Maximum',
  }),
  clusterYellow: metric({
    namespace: 'AWS/ES',
    metricName: 'ClusterStatus.yellow',
    dimensions: byDomain,
    statistic: 'Maximum',
  }),
  /** Free storage of the fullest node, in MiB. */
  freeStorage: metric({
    namespace: 'AWS/ES',
    metricName: 'FreeStorageSpace',
    dimensions: byDomain,
    statistic: 'Minimum',
  }),
  writesBlocked: metric({
    namespace: 'AWS/ES',
    metricName: 'ClusterIndexWritesBlocked',
    dimensions: byDomain,
    statistic: 'Maximum',
  }),
  /** JVM heap in use, in percent. */
  jvmPressure: metric({
    namespace: 'AWS/ES',
    metricName: 'JVMMemoryPressure',
    dimensions: byDomain,
    statistic: 'Maximum',
  }),
  cpu: metric({ namespace: 'AWS/ES', metricName: 'CPUUtilization', dimensions: byDomain, statistic: 'Average' }),
};

/** The whole catalogue, by section (what a generated README or a test walks over). */
export const CATALOGUE = { KINESIS, LAMBDA, FLINK, SQS, FIREHOSE, DYNAMODB, OPENSEARCH } as const;

/** The metric of one resource, for an alarm (`metricAlarm`'s `metric`, `mathAlarm`'s `metrics`). */
export function metricOf<A>(definition: MetricDefinition<A>, of: A): MetricSpec {
  return {
    namespace: definition.namespace,
    metricName: definition.metricName,
    dimensions: definition.dimensions(of),
    statistic: definition.statistic,
    periodSeconds: definition.periodSeconds,
  };
}

/** A CloudWatch dashboard metric: [namespace, name, dimension, value, ..., options]. */
export type DashboardLine = (string | Record<string, unknown>)[];

/** Rendering options of one dashboard line (the statistic defaults to the metric's). */
export interface LineOptions {
  readonly label: string;
  readonly stat?: string;
  readonly id?: string;
  readonly visible?: boolean;
  readonly yAxis?: 'left' | 'right';
}

/** One dashboard line of the metric of one resource. */
export function dashboardLine<A>(definition: MetricDefinition<A>, of: A, options: LineOptions): DashboardLine {
  const { stat, label, ...rest } = options;
  return [
    definition.namespace,
    definition.metricName,
    ...Object.entries(definition.dimensions(of)).flat(),
    { stat: stat ?? definition.statistic, label, ...rest },
  ];
}

/**
 * The same line as an HCL expression, for lines Terraform expands (one per element of a list
 * variable): `of` holds HCL expressions (e.g. a `for` variable), `label` an HCL expression.
 */
export function dashboardLineHcl<A>(definition: MetricDefinition<A>, of: A, label: string): string {
  const dimensions = Object.entries(definition.dimensions(of)).map(
    ([name, value]) => `${JSON.stringify(name)}, ${value}`,
  );
  const parts = [JSON.stringify(definition.namespace), JSON.stringify(definition.metricName), ...dimensions];
  return `[${parts.join(', ')}, { stat = ${JSON.stringify(definition.statistic)}, label = ${label} }]`;
}
