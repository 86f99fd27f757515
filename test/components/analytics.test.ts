/** kinesis-analytics and timestream as synthesized. */
import { describe, expect, it } from 'vitest';
import { alarmsOf, readComponent, resourcesOf } from '../support/synth';

describe('kinesis-analytics', () => {
  const tf = readComponent('kinesis-analytics');
  const app = resourcesOf(tf, 'aws_kinesisanalyticsv2_application').application!;
  const config = app.application_configuration as Record<string, Record<string, unknown>>;
  const flink = config.flink_application_configuration as Record<string, Record<string, unknown>>;

  it('runs the uploaded jar version on Flink 1.20 with the pipeline property group', () => {
    expect(app.runtime_environment).toBe('FLINK-1_20');
    expect((config.application_code_configuration as { code_content: unknown }).code_content).toEqual({
      s3_content_location: {
        bucket_arn: '${aws_s3_bucket.artifacts.arn}',
        file_key: '${aws_s3_object.jar.key}',
        object_version: '${aws_s3_object.jar.version_id}',
      },
    });
    const jar = resourcesOf(tf, 'aws_s3_object').jar!;
    expect(jar.source).toBe('${path.module}/dist/flink-aggregator.jar');
    expect(jar.source_hash).toBe('${filemd5("${path.module}/dist/flink-aggregator.jar")}');
    expect(config.environment_properties).toEqual({ property_group: [{ property_group_id: 'pipeline', property_map: '${local.flink_properties}' }] });
    const props = tf.locals!.flink_properties as string;
    for (const key of ['aws.region', 'input.stream.arn', 'output.stream.arn', 'input.reader', 'input.initial.position', 'window.size.minutes', 'window.allowed.lateness.seconds', 'watermark.out.of.orderness.seconds', 'watermark.idleness.seconds', 'timestream.enabled', 'input.efo.consumer.name', 'timestream.database', 'timestream.table']) {
      expect(props, key).toContain(`"${key}" =`);
    }
    expect(props).toContain('"window.size.minutes" = tostring(var.window_size_minutes)');
    expect(tf.variable.window_size_minutes!.default).toBe(5);
  });

  it('checkpoints, snapshots, scales and logs from variables', () => {
    expect(flink.checkpoint_configuration).toEqual({
      configuration_type: 'CUSTOM',
      checkpointing_enabled: true,
      checkpoint_interval: '${var.checkpoint_interval_ms}',
      min_pause_between_checkpoints: '${var.min_pause_between_checkpoints_ms}',
    });
    expect(flink.parallelism_configuration).toEqual({
      configuration_type: 'CUSTOM',
      auto_scaling_enabled: '${var.autoscaling_enabled}',
      parallelism: '${var.parallelism}',
      parallelism_per_kpu: '${var.parallelism_per_kpu}',
    });
    expect(flink.monitoring_configuration).toEqual({ configuration_type: 'CUSTOM', log_level: '${var.log_level}', metrics_level: '${var.metrics_level}' });
    expect(config.application_snapshot_configuration).toEqual({ snapshots_enabled: '${var.snapshots_enabled}' });
    expect(app.cloudwatch_logging_options).toEqual({ log_stream_arn: '${aws_cloudwatch_log_stream.log_stream.arn}' });
    expect(resourcesOf(tf, 'aws_cloudwatch_log_group').log_group!.retention_in_days).toBe('${var.log_retention_days}');
  });

  it('grants exact permissions: read input (EFO consumer when used), write output, read the jar, logs, Timestream when enabled', () => {
    const doc = tf.data!.aws_iam_policy_document!.role_permissions as {
      statement: { sid: string; actions: string[]; resources: string[] }[];
      dynamic: { statement: { for_each: string; content: { sid: string; actions: string[]; resources: string[] } }[] };
    };
    const fixed = Object.fromEntries(doc.statement.map((s) => [s.sid, s]));
    const dynamic = Object.fromEntries(doc.dynamic.statement.map((s) => [s.content.sid, s]));
    expect(fixed.ReadSourceStream!.resources).toEqual(['${local.source_stream_arn}']);
    expect(fixed.WriteDestinationStream!.resources).toEqual(['${local.destination_stream_arn}']);
    expect(fixed.ReadJar).toMatchObject({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: ['${aws_s3_bucket.artifacts.arn}/flink/flink-aggregator.jar'] });
    expect(fixed.WriteLogs!.resources).toEqual(['${aws_cloudwatch_log_stream.log_stream.arn}']);
    expect(dynamic.ReadThroughEfoConsumer).toMatchObject({
      for_each: '${var.input_reader == "EFO" ? [1] : []}',
      content: { actions: ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'], resources: ['${data.aws_kinesis_stream_consumer.efo_consumer[0].arn}'] },
    });
    expect(dynamic.WriteTimestream).toMatchObject({ for_each: '${var.timestream_enabled ? [1] : []}', content: { resources: ['${local.timestream_table_arn}'] } });
  });

  it('alarms: downtime > 0, failed checkpoints > 0, processing lag > 5 minutes, on this application', () => {
    const alarms = alarmsOf(tf);
    const app = '${aws_kinesisanalyticsv2_application.application.name}';
    expect(alarms.downtime_alarm).toMatchObject({ namespace: 'AWS/KinesisAnalytics', metric_name: 'downtime', threshold: 0, dimensions: { Application: app } });
    expect(alarms.failed_checkpoints_alarm).toMatchObject({ metric_name: 'numberOfFailedCheckpoints', threshold: 0, dimensions: { Application: app } });
    expect(alarms.processing_lag_alarm).toMatchObject({
      metric_name: 'millisBehindLatest',
      threshold: '${var.processing_lag_alarm_threshold_ms}',
      dimensions: { Application: app, Flow: 'Input', Id: '${replace(var.source_stream_name, "-", "_")}' },
    });
    expect(tf.variable.processing_lag_alarm_threshold_ms!.default).toBe(300_000);
  });

  it('keeps the jar in a hardened artifact bucket', () => {
    const bucket = resourcesOf(tf, 'aws_s3_bucket').artifacts!;
    expect(bucket.force_destroy).toBe(false);
    expect(resourcesOf(tf, 'aws_s3_bucket_public_access_block').artifacts_public_access_block).toMatchObject({ block_public_policy: true });
  });
});

describe('timestream', () => {
  const tf = readComponent('timestream');
  it('creates nothing unless enabled; magnetic writes on for late windows; retention from variables', () => {
    const table = resourcesOf(tf, 'aws_timestreamwrite_table').table!;
    expect(table.count).toBe('${var.enabled ? 1 : 0}');
    expect(resourcesOf(tf, 'aws_timestreamwrite_database').database!.count).toBe('${var.enabled ? 1 : 0}');
    expect(tf.variable.enabled!.default).toBe(false);
    expect(table.magnetic_store_write_properties).toEqual({ enable_magnetic_store_writes: true });
    expect(table.retention_properties).toEqual({
      memory_store_retention_period_in_hours: '${var.memory_store_retention_hours}',
      magnetic_store_retention_period_in_days: '${var.magnetic_store_retention_days}',
    });
    expect(resourcesOf(tf, 'terraform_data').table_deletion_guard!.count).toBe('${var.enabled ? 1 : 0}');
  });
});
