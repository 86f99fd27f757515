/** kinesis-analytics and timestream as synthesized. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PIPELINE_PROPERTIES,
  PROPERTIES_FILE,
  PROPERTY_GROUP,
  propertiesDocument,
} from '../../components/kinesis-analytics/properties';
import { policyDocument } from '../support/iam-policy';
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
    expect(config.environment_properties).toEqual({
      property_group: [{ property_group_id: 'pipeline', property_map: '${local.flink_properties}' }],
    });
    const props = tf.locals!.flink_properties as string;
    for (const key of [
      'aws.region',
      'input.stream.arn',
      'output.stream.arn',
      'input.reader',
      'input.initial.position',
      'window.size.minutes',
      'window.allowed.lateness.seconds',
      'watermark.out.of.orderness.seconds',
      'watermark.idleness.seconds',
      'event.max.future.skew.seconds',
      'input.polling.interval.ms',
      'timestream.enabled',
      'input.efo.consumer.name',
      'timestream.database',
      'timestream.table',
    ]) {
      expect(props, key).toContain(`"${key}" =`);
    }
    expect(props).toContain('"window.size.minutes" = tostring(var.window_size_minutes)');
    expect(tf.variable.window_size_minutes!.default).toBe(5);
    expect(props).toContain('"event.max.future.skew.seconds" = tostring(var.max_future_skew_seconds)');
    expect(props).toContain('"input.polling.interval.ms" = tostring(var.polling_interval_ms)');
  });

  it("event-time bound and polling budget are validated variables with the job's defaults and ranges", () => {
    // the job's own defaults and ranges (flink/src/main/java/.../PipelineConfig.java)
    const java = readFileSync(
      resolve(__dirname, '../../flink/src/main/java/com/acme/pipeline/flink/config/PipelineConfig.java'),
      'utf8',
    );
    expect(java).toMatch(/DEFAULT_MAX_FUTURE_SKEW_SECONDS = 300;/);
    expect(java).toMatch(/EVENT_MAX_FUTURE_SKEW_SECONDS, DEFAULT_MAX_FUTURE_SKEW_SECONDS, 0, 86_400\)/);
    expect(java).toMatch(/DEFAULT_POLLING_INTERVAL_MS = 1000;/);
    expect(java).toMatch(/INPUT_POLLING_INTERVAL_MS, DEFAULT_POLLING_INTERVAL_MS, 200, 60_000\)/);
    expect(tf.variable.max_future_skew_seconds!.default).toBe(300);
    expect(tf.variable.polling_interval_ms!.default).toBe(1000);
    const rule = (name: string) => (tf.variable[name]!.validation as { condition: string }[])[0]!.condition;
    expect(rule('max_future_skew_seconds')).toContain(
      'var.max_future_skew_seconds >= 0 && var.max_future_skew_seconds <= 86400',
    );
    expect(rule('polling_interval_ms')).toContain('var.polling_interval_ms >= 200 && var.polling_interval_ms <= 60000');
    // budget: Firehose (1/s) + Lambda (1/s) + Flink at the default interval stay within 5 GetRecords/s per shard
    expect(1 + 1 + 1000 / (tf.variable.polling_interval_ms!.default as number)).toBeLessThanOrEqual(5);
  });

  it('allow_non_restored_state is a variable, default false, passed to the run configuration', () => {
    expect(tf.variable.allow_non_restored_state!.default).toBe(false);
    expect(config.run_configuration).toEqual({
      flink_run_configuration: { allow_non_restored_state: '${var.allow_non_restored_state}' },
    });
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
    expect(flink.monitoring_configuration).toEqual({
      configuration_type: 'CUSTOM',
      log_level: '${var.log_level}',
      metrics_level: '${var.metrics_level}',
    });
    expect(config.application_snapshot_configuration).toEqual({ snapshots_enabled: '${var.snapshots_enabled}' });
    expect(app.cloudwatch_logging_options).toEqual({ log_stream_arn: '${aws_cloudwatch_log_stream.log_stream.arn}' });
    expect(resourcesOf(tf, 'aws_cloudwatch_log_group').log_group!.retention_in_days).toBe('${var.log_retention_days}');
  });

  it('grants exact permissions: read input (EFO consumer when used), write output, read the jar, logs, Timestream when enabled', () => {
    const doc = policyDocument(tf, 'role_permissions');
    const fixed = Object.fromEntries(doc.fixedBlocks().map((s) => [s.sid, s]));
    const dynamic = Object.fromEntries(
      doc.statements.filter((s) => s.forEach !== undefined).map((s) => [s.block.sid, s]),
    );
    expect(fixed.ReadSourceStream!.resources).toEqual(['${local.source_stream_arn}']);
    expect(fixed.WriteDestinationStream!.resources).toEqual(['${local.destination_stream_arn}']);
    expect(fixed.ReadJar).toMatchObject({
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resources: ['${aws_s3_bucket.artifacts.arn}/flink/flink-aggregator.jar'],
    });
    expect(fixed.WriteLogs!.resources).toEqual(['${aws_cloudwatch_log_stream.log_stream.arn}']);
    expect(dynamic.ReadThroughEfoConsumer).toMatchObject({
      forEach: '${var.input_reader == "EFO" ? [1] : []}',
      block: {
        actions: ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'],
        resources: ['${data.aws_kinesis_stream_consumer.efo_consumer[0].arn}'],
      },
    });
    expect(dynamic.WriteTimestream).toMatchObject({
      forEach: '${var.timestream_enabled ? [1] : []}',
      block: { resources: ['${local.timestream_table_arn}'] },
    });
  });

  it('alarms: downtime > 0, failed checkpoints > 0, processing lag > 5 minutes, on this application', () => {
    const alarms = alarmsOf(tf);
    const app = '${aws_kinesisanalyticsv2_application.application.name}';
    expect(alarms.downtime_alarm).toMatchObject({
      namespace: 'AWS/KinesisAnalytics',
      metric_name: 'downtime',
      threshold: 0,
      dimensions: { Application: app },
    });
    expect(alarms.failed_checkpoints_alarm).toMatchObject({
      metric_name: 'numberOfFailedCheckpoints',
      threshold: 0,
      dimensions: { Application: app },
    });
    expect(alarms.processing_lag_alarm).toMatchObject({
      metric_name: 'millisBehindLatest',
      threshold: '${var.processing_lag_alarm_threshold_ms}',
      dimensions: { Application: app, Flow: 'Input', Id: '${replace(var.source_stream_name, "-", "_")}' },
    });
    expect(tf.variable.processing_lag_alarm_threshold_ms!.default).toBe(300_000);
    // what the POLLING reader publishes (PacedPollingSource; KinesisMotoTest reads it from the running job)
    const source = readFileSync(
      resolve(__dirname, '../../flink/src/main/java/com/acme/pipeline/flink/io/PacedPollingSource.java'),
      'utf8',
    );
    expect(source).toContain('LAG_METRIC = "millisBehindLatest"');
    expect(source).toContain('LAG_FLOW_KEY = "Flow"');
    expect(source).toContain('LAG_FLOW_VALUE = "Input"');
    expect(source).toContain('LAG_ID_KEY = "Id"');
    expect(source).toContain("streamName.replace('-', '_')");
  });

  it('keeps the jar in a hardened artifact bucket', () => {
    const bucket = resourcesOf(tf, 'aws_s3_bucket').artifacts!;
    expect(bucket.force_destroy).toBe(false);
    expect(resourcesOf(tf, 'aws_s3_bucket_public_access_block').artifacts_public_access_block).toMatchObject({
      block_public_policy: true,
    });
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

/**
 * The `pipeline` property group is declared once (components/kinesis-analytics/properties.ts):
 * the component's variables and property map come from it, and flink's PipelineConfigContractTest
 * checks the job against the file synth writes from it.
 */
describe('kinesis-analytics property group = properties.ts', () => {
  const tf = readComponent('kinesis-analytics');
  const props = tf.locals!.flink_properties as string;
  const schema = JSON.parse(
    readFileSync(resolve(__dirname, '../../stacks/schemas/jsonschema/kinesis-analytics.json'), 'utf8'),
  ) as { properties: { vars: { properties: Record<string, Record<string, unknown>> } } };
  const varSchema = (name: string) => schema.properties.vars.properties[name]!;

  it('the committed flink/pipeline-properties.json is what synth writes from the declaration', () => {
    const committed = JSON.parse(readFileSync(resolve(__dirname, '../..', PROPERTIES_FILE), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(propertiesDocument())));
    expect(committed.propertyGroupId).toBe(PROPERTY_GROUP);
    const app = resourcesOf(tf, 'aws_kinesisanalyticsv2_application').application!;
    const config = app.application_configuration as { environment_properties: { property_group: unknown[] } };
    expect(config.environment_properties.property_group).toEqual([
      { property_group_id: PROPERTY_GROUP, property_map: '${local.flink_properties}' },
    ]);
  });

  it.each(PIPELINE_PROPERTIES.map((p) => [p.key, p] as const))('%s', (key, p) => {
    if (p.setBy === 'local') {
      // never set on Managed Flink
      expect(props).not.toContain(`"${key}"`);
      return;
    }
    const occurrences = props.split(`"${key}" = `).length - 1;
    expect(occurrences, key).toBe(1);
    if (p.setBy === 'component') return;
    const name = p.variable!;
    const v = tf.variable[name]!;
    const ref = p.type === 'integer' || p.type === 'boolean' ? `tostring(var.${name})` : `var.${name}`;
    expect(props).toContain(`"${key}" = ${ref}`);
    switch (p.type) {
      case 'integer':
        expect(v.default).toBe(p.default);
        expect(varSchema(name)).toMatchObject({ type: 'integer', minimum: p.min, maximum: p.max });
        break;
      case 'enum':
        expect(v.default).toBe(p.default);
        expect(varSchema(name).enum).toEqual(p.allowed);
        break;
      case 'boolean':
        expect(v.default).toBe(p.default);
        break;
      case 'string':
        expect(varSchema(name).pattern).toBe(`^(?:${p.pattern!.regex})$`);
        break;
    }
  });

  it('keys under a condition are set only when it holds', () => {
    expect(props).toContain('var.input_reader == "EFO" ? { "input.efo.consumer.name" = var.efo_consumer_name } : {}');
    expect(props).toContain(
      'var.timestream_enabled ? { "timestream.database" = var.timestream_database_name, "timestream.table" = var.timestream_table_name } : {}',
    );
  });
});
