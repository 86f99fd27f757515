/**
 * kinesis-ingest and kinesis-output as synthesized: the stream, its encryption, capacity mode,
 * alarms and their dimensions, EFO consumers, outputs, and the variables' validation rules.
 */
import { describe, expect, it } from 'vitest';
import { alarmsOf, onlyResource, readComponent, resourcesOf } from '../support/synth';
import { validationMessages, validationOf } from '../support/validations';

const STREAM_COMPONENTS = ['kinesis-ingest', 'kinesis-output'] as const;

describe.each(STREAM_COMPONENTS)('%s', (component) => {
  const tf = readComponent(component);
  const [streamId, stream] = onlyResource(tf, 'aws_kinesis_stream');
  const streamRef = `aws_kinesis_stream.${streamId}`;

  it('names the stream with the shared label and encrypts it with KMS', () => {
    expect(stream.name).toBe('${local.label_id}');
    expect(stream.encryption_type).toBe('KMS');
    expect(stream.kms_key_id).toBe('${var.kms_key_id}');
    expect(tf.variable.kms_key_id!.default).toBe('alias/aws/kinesis');
  });

  it('sets capacity mode from stream_mode and shard_count only when PROVISIONED', () => {
    expect(stream.stream_mode_details).toEqual({ stream_mode: '${var.stream_mode}' });
    expect(stream.shard_count).toBe('${(var.stream_mode == "PROVISIONED") ? var.shard_count : null}');
    const crossRule = validationOf(
      tf,
      'shard_count',
      'shard_count: must be set (1-1000) when stream_mode is PROVISIONED',
    );
    expect(crossRule).toEqual({
      condition: '${var.stream_mode == "PROVISIONED" ? var.shard_count != null : var.shard_count == null}',
      error_message:
        'shard_count: must be set (1-1000) when stream_mode is PROVISIONED and must be null when stream_mode is ON_DEMAND ' +
        '(got stream_mode = ${jsonencode(var.stream_mode)}, shard_count = ${jsonencode(var.shard_count)})',
    });
    expect(tf.variable.stream_mode!.default).toBe('ON_DEMAND');
    expect(tf.variable.shard_count!.default).toBeNull();
  });

  it('takes retention and shard-level metrics from variables', () => {
    expect(stream.retention_period).toBe('${var.retention_period_hours}');
    expect(stream.shard_level_metrics).toBe('${var.shard_level_metrics}');
    expect(tf.variable.retention_period_hours!.default).toBe(24);
  });

  it('alarms on iterator age > 1 minute and write throttling > 0, on this stream by name', () => {
    const alarms = alarmsOf(tf);
    const age = alarms.iterator_age_alarm!;
    expect(age).toMatchObject({
      namespace: 'AWS/Kinesis',
      metric_name: 'GetRecords.IteratorAgeMilliseconds',
      statistic: 'Maximum',
      comparison_operator: 'GreaterThanThreshold',
      threshold: '${var.iterator_age_alarm_threshold_ms}',
      dimensions: { StreamName: `\${${streamRef}.name}` },
    });
    expect(tf.variable.iterator_age_alarm_threshold_ms!.default).toBe(60_000);
    expect(alarms.write_throttle_alarm).toMatchObject({
      namespace: 'AWS/Kinesis',
      metric_name: 'WriteProvisionedThroughputExceeded',
      statistic: 'Sum',
      comparison_operator: 'GreaterThanThreshold',
      threshold: 0,
      dimensions: { StreamName: `\${${streamRef}.name}` },
    });
  });

  it('sends every alarm to the alarm topic when one is set, and nowhere otherwise', () => {
    for (const alarm of Object.values(alarmsOf(tf))) {
      expect(alarm.alarm_actions).toBe('${var.alarm_topic_arn == "" ? [] : [var.alarm_topic_arn]}');
      expect(alarm.ok_actions).toBe(alarm.alarm_actions);
      expect(alarm.alarm_name).toMatch(/^\$\{local\.label_id\}-/);
    }
  });

  it('guards the stream against destroy and replacement while deletion_protection is true', () => {
    const [, guard] = onlyResource(tf, 'terraform_data');
    expect(guard.input).toMatchObject({ protected: '${var.deletion_protection}' });
    expect(guard.triggers_replace).toEqual({ protected_id: `\${${streamRef}.arn}` });
    const provisioner = (guard.provisioner as Record<string, { when: string; command: string }>[])[0]!['local-exec']!;
    expect(provisioner.when).toBe('destroy');
    expect(provisioner.command).toContain('${self.input.protected}');
    expect(tf.variable.deletion_protection!.default).toBe(true);
  });

  it('exports the stream name and ARN', () => {
    expect(tf.output?.stream_name?.value).toBe(`\${${streamRef}.name}`);
    expect(tf.output?.stream_arn?.value).toBe(`\${${streamRef}.arn}`);
  });

  it('declares validation rules that name the variable and the allowed range', () => {
    const messages = (name: string) => validationMessages(tf, name);
    expect(messages('retention_period_hours')).toEqual([
      'retention_period_hours: must be a whole number from 24 to 8760 hours (got ${jsonencode(var.retention_period_hours)})',
    ]);
    expect(messages('stream_mode')).toEqual([
      'stream_mode: must be one of ON_DEMAND, PROVISIONED (got ${jsonencode(var.stream_mode)})',
    ]);
    expect(validationOf(tf, 'shard_count', 'shard_count: must be a whole number').error_message).toBe(
      'shard_count: must be a whole number from 1 to 1000, or null (got ${jsonencode(var.shard_count)})',
    );
    expect(messages('stage')).toEqual([
      'stage: must be one of local, dev, staging, prod (got ${jsonencode(var.stage)})',
    ]);
  });
});

describe('kinesis-ingest enhanced fan-out consumers', () => {
  const tf = readComponent('kinesis-ingest');
  const [streamId] = onlyResource(tf, 'aws_kinesis_stream');

  it('registers one consumer per name in efo_consumer_names on the ingest stream', () => {
    const consumer = resourcesOf(tf, 'aws_kinesis_stream_consumer').consumer!;
    expect(consumer.for_each).toBe('${toset(var.efo_consumer_names)}');
    expect(consumer.name).toBe('${each.value}');
    expect(consumer.stream_arn).toBe(`\${aws_kinesis_stream.${streamId}.arn}`);
    expect(tf.output?.consumer_arns?.value).toBe(
      '${{ for name, c in aws_kinesis_stream_consumer.consumer : name => c.arn }}',
    );
  });

  it('alarms per consumer on MillisBehindLatest with stream and consumer dimensions', () => {
    const lag = alarmsOf(tf).consumer_lag_alarm!;
    expect(lag).toMatchObject({
      for_each: '${toset(var.efo_consumer_names)}',
      namespace: 'AWS/Kinesis',
      metric_name: 'SubscribeToShardEvent.MillisBehindLatest',
      dimensions: { StreamName: `\${aws_kinesis_stream.${streamId}.name}`, ConsumerName: '${each.value}' },
      threshold: '${var.iterator_age_alarm_threshold_ms}',
    });
    expect(lag.alarm_name).toBe('${local.label_id}-${each.value}-lag');
  });

  it('has no consumers on the output stream', () => {
    expect(resourcesOf(readComponent('kinesis-output'), 'aws_kinesis_stream_consumer')).toEqual({});
  });
});
