/** lambda-enrichment's alarms (the queues' alarms come with the queues, shared/queue.ts). */
import type { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { mathAlarm, metricAlarm } from '../shared/alarms';
import { LAMBDA, metricOf } from '../shared/metrics';
import type { PipelineStack } from '../shared/pipeline-stack';

export interface EnrichmentAlarmThresholds {
  /** error_rate_alarm_threshold_percent. */
  readonly errorRatePercent: number;
  /** iterator_age_alarm_threshold_ms. */
  readonly iteratorAgeMs: number;
  /** failed_records_alarm_threshold. */
  readonly failedRecords: number;
}

/** `<label>-error-rate`, `<label>-iterator-age` and `<label>-failed-records` on this function. */
export function enrichmentAlarms(stack: PipelineStack, fn: LambdaFunction, thresholds: EnrichmentAlarmThresholds) {
  const functionName = fn.functionName;
  mathAlarm(stack, 'error_rate_alarm', {
    suffix: 'error-rate',
    description: 'More than the threshold share of invocations failed (Errors / Invocations). Check the function logs.',
    expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
    metrics: {
      errors: metricOf(LAMBDA.errors, functionName),
      invocations: metricOf(LAMBDA.invocations, functionName),
    },
    threshold: thresholds.errorRatePercent,
    comparison: 'GreaterThanThreshold',
    periodSeconds: 300,
  });
  metricAlarm(stack, 'iterator_age_alarm', {
    suffix: 'iterator-age',
    description: 'The enrichment function is more than the threshold behind the ingest stream (IteratorAge).',
    metric: metricOf(LAMBDA.iteratorAge, functionName),
    threshold: thresholds.iteratorAgeMs,
    comparison: 'GreaterThanThreshold',
  });
  // Partial batch failures (batchItemFailures) are successful invocations to Lambda: they never
  // count as Errors, so the error-rate alarm cannot see them. The handler counts them itself.
  metricAlarm(stack, 'failed_records_alarm', {
    suffix: 'failed-records',
    description:
      'The handler reported records as batch item failures (lookup, output or DLQ writes failing after its retries); the mapping retries them and, once it gives up, sends them to the failures queue. Check the function logs.',
    metric: metricOf(LAMBDA.failedRecords, functionName),
    threshold: thresholds.failedRecords,
    comparison: 'GreaterThanThreshold',
  });
}
