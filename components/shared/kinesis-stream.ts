/**
 * An encrypted Kinesis data stream with its variables and blueprint alarms; used by both
 * kinesis-ingest and kinesis-output so the two stay identical where they should.
 */
import { KinesisStream } from '@cdktf/provider-aws/lib/kinesis-stream';
import { Op, Fn, Token } from 'cdktf';
import { Construct } from 'constructs';
import { metricAlarm } from './alarms';
import { KINESIS, metricOf } from './metrics';
import { deletionGuard } from './deletion-guard';
import type { PipelineStack } from './pipeline-stack';
import { crossVariableRule, numberVariable, stringListVariable, stringVariable } from './variables';

/** Shard-level metrics Kinesis can publish (EnableEnhancedMonitoring). */
export const SHARD_LEVEL_METRICS = [
  'IncomingBytes',
  'IncomingRecords',
  'OutgoingBytes',
  'OutgoingRecords',
  'WriteProvisionedThroughputExceeded',
  'ReadProvisionedThroughputExceeded',
  'IteratorAgeMilliseconds',
  'ALL',
] as const;

/** The retention Kinesis allows, in hours (24 h to 365 days); readers' record-age bounds use it too. */
export const RETENTION_HOURS = { min: 24, max: 8760 } as const;

/** A KMS key id, key ARN, alias name or alias ARN. */
export const KMS_KEY_REFERENCE = {
  regex:
    'alias/[a-zA-Z0-9/_-]{1,250}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/[0-9a-f-]{36}|alias/[a-zA-Z0-9/_-]{1,250})',
  hint: 'a KMS key id, key ARN, alias name (alias/...) or alias ARN',
};

export class EncryptedStream extends Construct {
  readonly stream: KinesisStream;
  /** The stream name (also the CloudWatch StreamName dimension). */
  readonly streamName: string;
  readonly streamArn: string;
  /** The iterator-age alarm threshold variable (ms), for consumer alarms of the same stream. */
  readonly iteratorAgeThresholdMs: number;

  constructor(stack: PipelineStack, id: string) {
    super(stack, id);

    const mode = stringVariable(stack, 'stream_mode', {
      description:
        "Capacity mode: ON_DEMAND (scales by itself, the blueprint's recommendation) or PROVISIONED (set shard_count).",
      default: 'ON_DEMAND',
      allowed: ['ON_DEMAND', 'PROVISIONED'],
    });
    const shardCount = numberVariable(stack, 'shard_count', {
      description: 'Number of shards, only with stream_mode = PROVISIONED.',
      default: null,
      min: 1,
      max: 1000,
    });
    const retention = numberVariable(stack, 'retention_period_hours', {
      description: 'How long records stay readable, in hours.',
      default: RETENTION_HOURS.min,
      min: RETENTION_HOURS.min,
      max: RETENTION_HOURS.max,
      unit: 'hours',
    });
    const kmsKey = stringVariable(stack, 'kms_key_id', {
      description:
        'KMS key for server-side encryption: the AWS-managed key alias/aws/kinesis by default, or a customer key (id, ARN, alias).',
      default: 'alias/aws/kinesis',
      pattern: KMS_KEY_REFERENCE,
    });
    const shardMetrics = stringListVariable(stack, 'shard_level_metrics', {
      description: 'Shard-level (enhanced) metrics to enable; they cost extra.',
      default: [],
      allowed: SHARD_LEVEL_METRICS,
    });
    const iteratorAgeThreshold = numberVariable(stack, 'iterator_age_alarm_threshold_ms', {
      description:
        "Alarm when the oldest unread record of any reader is older than this, in ms (the blueprint's 1 minute by default).",
      default: 60_000,
      min: 1000,
      max: 604_800_000,
      unit: 'ms',
    });

    // Cross-variable rule (OpenTofu >= 1.8, Terraform >= 1.9): fails at plan before any API call.
    crossVariableRule(stack, {
      variables: ['stream_mode', 'shard_count'],
      message:
        'shard_count: must be set (1-1000) when stream_mode is PROVISIONED and must be null when stream_mode is ON_DEMAND',
      hcl: {
        on: shardCount,
        condition: 'var.stream_mode == "PROVISIONED" ? var.shard_count != null : var.shard_count == null',
      },
      schema: {
        if: { properties: { stream_mode: { const: 'PROVISIONED' } }, required: ['stream_mode'] },
        then: { required: ['shard_count'], properties: { shard_count: { type: 'integer' } } },
        else: { properties: { shard_count: { type: 'null' } } },
      },
    });

    const provisioned = Op.eq(mode.stringValue, 'PROVISIONED');
    this.stream = new KinesisStream(this, 'stream', {
      name: stack.resourceName(),
      streamModeDetails: { streamMode: mode.stringValue },
      shardCount: Token.asNumber(Fn.conditional(provisioned, shardCount.numberValue, null)),
      retentionPeriod: retention.numberValue,
      encryptionType: 'KMS',
      kmsKeyId: kmsKey.stringValue,
      shardLevelMetrics: shardMetrics.listValue,
      enforceConsumerDeletion: false,
    });
    // Plain addresses in `terraform plan`: aws_kinesis_stream.stream, not a hashed construct path.
    this.stream.overrideLogicalId('stream');
    this.streamName = this.stream.name;
    this.streamArn = this.stream.arn;
    this.iteratorAgeThresholdMs = iteratorAgeThreshold.numberValue;

    deletionGuard(this, 'deletion_guard', {
      protectedId: this.stream.arn,
      what: `Kinesis stream ${this.stream.name}`,
      enabled: stack.deletionProtection,
    }).overrideLogicalId('stream_deletion_guard');

    metricAlarm(stack, 'iterator_age_alarm', {
      suffix: 'iterator-age',
      description:
        'A polling reader of this stream is more than the threshold behind (GetRecords.IteratorAgeMilliseconds). Check the Lambda/Flink consumers for errors or throttling.',
      metric: metricOf(KINESIS.iteratorAge, this.streamName),
      threshold: this.iteratorAgeThresholdMs,
      comparison: 'GreaterThanThreshold',
    });
    metricAlarm(stack, 'write_throttle_alarm', {
      suffix: 'write-throttled',
      description:
        'Producers are being throttled (WriteProvisionedThroughputExceeded > 0): records are retried or lost by producers. Add shards or use ON_DEMAND.',
      metric: metricOf(KINESIS.writeThrottled, this.streamName),
      threshold: 0,
      comparison: 'GreaterThanThreshold',
    });
  }
}
