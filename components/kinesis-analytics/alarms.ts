/** kinesis-analytics' alarms: the job is down, its checkpoints fail, or it falls behind. */
import type { Kinesisanalyticsv2Application } from '@cdktf/provider-aws/lib/kinesisanalyticsv2-application';
import { metricAlarm } from '../shared/alarms';
import { FLINK, metricOf } from '../shared/metrics';
import type { PipelineStack } from '../shared/pipeline-stack';

/** `<label>-downtime`, `<label>-failed-checkpoints` and `<label>-processing-lag`. */
export function analyticsAlarms(
  stack: PipelineStack,
  app: Kinesisanalyticsv2Application,
  props: { inputStreamName: string; processingLagThresholdMs: number },
): void {
  metricAlarm(stack, 'downtime_alarm', {
    suffix: 'downtime',
    description:
      'The Flink job is not running (downtime > 0): it is failing and restarting. Check the application logs.',
    metric: metricOf(FLINK.downtime, app.name),
    threshold: 0,
    comparison: 'GreaterThanThreshold',
  });
  metricAlarm(stack, 'failed_checkpoints_alarm', {
    suffix: 'failed-checkpoints',
    description: 'Checkpoints are failing (numberOfFailedCheckpoints > 0): exactly-once state is not being saved.',
    metric: metricOf(FLINK.failedCheckpoints, app.name),
    threshold: 0,
    comparison: 'GreaterThanThreshold',
  });
  metricAlarm(stack, 'processing_lag_alarm', {
    suffix: 'processing-lag',
    description:
      'The Flink job is more than the threshold behind the ingest stream (millisBehindLatest): add parallelism or KPUs (POLLING: or lower polling_interval_ms within the shard budget).',
    metric: metricOf(FLINK.inputLag, { application: app.name, inputStreamName: props.inputStreamName }),
    threshold: props.processingLagThresholdMs,
    comparison: 'GreaterThanThreshold',
  });
}
