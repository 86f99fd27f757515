/**
 * monitoring's dashboard: the blueprint's widgets (throughput, latency p99, batch processing time,
 * errors, consumer lag) plus the enrichment handler's failed records, DLQ and on-failure queue
 * depth and Firehose freshness. Every line comes from the metric catalogue (shared/metrics.ts),
 * the same declarations the components' alarms are built from.
 */
import { Fn, TerraformLocal } from 'cdktf';
import {
  type DashboardLine,
  dashboardLine,
  dashboardLineHcl,
  FIREHOSE,
  FLINK,
  KINESIS,
  LAMBDA,
  SQS,
} from '../shared/metrics';
import { expr } from '../shared/expressions';
import type { PipelineStack } from '../shared/pipeline-stack';

/** The names the dashboard charts (variables of the monitoring component). */
export interface DashboardNames {
  readonly ingest: string;
  readonly output: string;
  readonly enrichment: string;
  readonly dlq: string;
  readonly failures: string;
  readonly flink: string;
  readonly archive: string;
  readonly search: string;
  /** The ingest stream name and the EFO consumer list as bare expressions (`var.…`). */
  readonly ingestRef: string;
  readonly consumersRef: string;
}

function widget(title: string, metrics: DashboardLine[] | unknown, x: number, y: number, region: string) {
  return {
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, metrics, view: 'timeSeries', stacked: false, period: 60, region },
  };
}

/** The six widgets, two per row; `local.consumer_lag_metrics` and `local.efo_lag_metrics` feed one. */
export function dashboardWidgets(stack: PipelineStack, names: DashboardNames) {
  const flinkLag = { application: names.flink, inputStreamName: names.ingest };
  const region = stack.region;
  // The consumer-lag widget: fixed lines plus one per registered EFO consumer, expanded by
  // Terraform from efo_consumer_names (plain references: the expression has object literals).
  const consumerLagFixed = new TerraformLocal(stack, 'consumer_lag_metrics', [
    dashboardLine(KINESIS.iteratorAge, names.ingest, { label: 'ingest polling readers' }),
    dashboardLine(KINESIS.iteratorAge, names.output, { label: 'output polling readers' }),
    dashboardLine(LAMBDA.iteratorAge, names.enrichment, { label: 'enrichment iterator age' }),
    dashboardLine(FLINK.inputLag, flinkLag, { label: 'Flink millisBehindLatest' }),
  ]);
  const efoLine = dashboardLineHcl(
    KINESIS.efoLag,
    { streamName: names.ingestRef, consumerName: 'c' },
    'format("EFO %s", c)',
  );
  const efoLag = new TerraformLocal(stack, 'efo_lag_metrics', expr(`[for c in ${names.consumersRef} : ${efoLine}]`));
  return [
    widget(
      'Stream throughput (records/s)',
      [
        dashboardLine(KINESIS.incomingRecords, names.ingest, { label: 'ingest in', id: 'ingestIn', visible: false }),
        dashboardLine(KINESIS.incomingRecords, names.output, { label: 'output in', id: 'outputIn', visible: false }),
        [{ expression: 'ingestIn / PERIOD(ingestIn)', label: 'ingest records/s', id: 'ingestRate' }],
        [{ expression: 'outputIn / PERIOD(outputIn)', label: 'output records/s', id: 'outputRate' }],
      ],
      0,
      0,
      region,
    ),
    widget(
      'Processing latency p99',
      [
        dashboardLine(LAMBDA.duration, names.enrichment, { label: 'enrichment duration p99 (ms)', stat: 'p99' }),
        dashboardLine(FLINK.inputLag, flinkLag, { label: 'Flink lag (ms)', yAxis: 'right' }),
      ],
      12,
      0,
      region,
    ),
    widget(
      'Batch processing time',
      [
        dashboardLine(LAMBDA.duration, names.enrichment, { label: 'enrichment batch avg (ms)', stat: 'Average' }),
        dashboardLine(LAMBDA.duration, names.enrichment, { label: 'enrichment batch max (ms)', stat: 'Maximum' }),
        dashboardLine(FLINK.lastCheckpointDuration, names.flink, { label: 'Flink checkpoint (ms)' }),
      ],
      0,
      6,
      region,
    ),
    widget(
      'Error count',
      [
        dashboardLine(LAMBDA.errors, names.enrichment, { label: 'enrichment errors' }),
        dashboardLine(LAMBDA.throttles, names.enrichment, { label: 'enrichment throttles' }),
        // Partial batch failures: invisible in Errors, counted by the handler itself (EMF).
        dashboardLine(LAMBDA.failedRecords, names.enrichment, { label: 'enrichment failed records' }),
        dashboardLine(FLINK.failedCheckpoints, names.flink, { label: 'Flink failed checkpoints' }),
        dashboardLine(FLINK.downtime, names.flink, { label: 'Flink downtime (ms)' }),
        dashboardLine(KINESIS.writeThrottled, names.ingest, { label: 'ingest write throttles' }),
      ],
      12,
      6,
      region,
    ),
    widget('Consumer lag (ms)', Fn.concat([consumerLagFixed.asList, efoLag.asList]), 0, 12, region),
    widget(
      'DLQ depth and delivery freshness',
      [
        dashboardLine(SQS.messagesVisible, names.dlq, { label: 'DLQ messages' }),
        dashboardLine(SQS.messagesVisible, names.failures, { label: 'on-failure messages (replay)' }),
        dashboardLine(FIREHOSE.s3Freshness, names.archive, { label: 'S3 archive freshness (s)', yAxis: 'right' }),
        dashboardLine(FIREHOSE.openSearchFreshness, names.search, {
          label: 'OpenSearch freshness (s)',
          yAxis: 'right',
        }),
      ],
      12,
      12,
      region,
    ),
  ];
}
