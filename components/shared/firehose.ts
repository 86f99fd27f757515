/** What both Firehose components share: the delivery key and S3 statements, logging, freshness alarm. */
import { CloudwatchLogStream } from '@cdktf/provider-aws/lib/cloudwatch-log-stream';
import type { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { metricAlarm } from './alarms';
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import type { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import type { PolicyStatement } from './iam';
import { customerKey, viaService } from './kms';
import { logGroup, logRetentionVariable } from './logs';
import { type MetricDefinition, metricOf } from './metrics';
import type { PipelineStack } from './pipeline-stack';
import { numberVariable } from './variables';

/**
 * The key for a delivery stream's S3 objects: the delivery role may use it only through S3.
 * Created before the bucket (the bucket's default encryption names it) and after the role (a key
 * policy may only name an existing role).
 */
export function deliveryKey(
  stack: PipelineStack,
  id: string,
  props: { role: IamRole; suffix: string; description: string; count?: number },
): KmsKey {
  return customerKey(stack, id, {
    suffix: props.suffix,
    description: props.description,
    count: props.count,
    users: [
      {
        sid: 'DeliveryWritesThroughS3',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        wildcardResourceReason: 'in a key policy "*" means this key',
        principals: [{ type: 'AWS', identifiers: [props.role.arn] }],
        conditions: viaService(stack, 's3'),
      },
    ],
  });
}

/**
 * What a delivery role needs to write objects under `prefixes` of a bucket encrypted with
 * `keyArn`: `<label>Bucket`, `<label>Objects` and `Encrypt<label>` statements.
 */
export function s3WriteStatements(
  stack: PipelineStack,
  props: { label: string; bucketArn: string; keyArn: string; prefixes: readonly string[]; keyEnabledWhen?: string },
): PolicyStatement[] {
  return [
    {
      sid: `${props.label}Bucket`,
      actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
      resources: [props.bucketArn],
    },
    {
      sid: `${props.label}Objects`,
      actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      resources: props.prefixes.map((prefix) => `${props.bucketArn}/${prefix}*`),
    },
    {
      sid: `Encrypt${props.label}`,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [props.keyArn],
      conditions: viaService(stack, 's3'),
      enabledWhen: props.keyEnabledWhen,
    },
  ];
}

export interface FirehoseLogging {
  readonly group: CloudwatchLogGroup;
  readonly streamName: string;
  /** `cloudwatch_logging_options` for the delivery stream. */
  readonly options: { enabled: boolean; logGroupName: string; logStreamName: string };
  readonly statement: PolicyStatement;
}

/** The delivery stream's error log group (finite retention) and stream, and the write permission. */
export function firehoseLogging(stack: PipelineStack): FirehoseLogging {
  const group = logGroup(stack, 'log_group', {
    name: `/aws/kinesisfirehose/${stack.resourceName()}`,
    retentionDays: logRetentionVariable(stack),
  });
  const stream = new CloudwatchLogStream(stack, 'log_stream', {
    name: 'DestinationDelivery',
    logGroupName: group.name,
  });
  return {
    group,
    streamName: stream.name,
    options: { enabled: true, logGroupName: group.name, logStreamName: stream.name },
    statement: {
      sid: 'WriteDeliveryErrors',
      actions: ['logs:PutLogEvents'],
      resources: [`${group.arn}:log-stream:${stream.name}`],
    },
  };
}

/** The blueprint's delivery alarm: data older than the threshold is waiting in the delivery stream. */
export function freshnessAlarm(
  stack: PipelineStack,
  deliveryStreamName: string,
  freshness: MetricDefinition<string>,
  defaultSeconds: number,
): void {
  const threshold = numberVariable(stack, 'freshness_alarm_threshold_seconds', {
    description: 'Alarm when the oldest record not yet delivered is older than this, in seconds.',
    default: defaultSeconds,
    min: 60,
    max: 86_400,
    unit: 'seconds',
  });
  metricAlarm(stack, 'freshness_alarm', {
    suffix: 'freshness',
    description: `Records wait longer than the threshold for delivery (${freshness.metricName}). Check the delivery stream's error logs and the destination.`,
    metric: metricOf(freshness, deliveryStreamName),
    threshold: threshold.numberValue,
    comparison: 'GreaterThanThreshold',
    periodSeconds: 300,
  });
}
