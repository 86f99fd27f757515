/** What both Firehose components share: source-stream variables, the reader statements, logging. */
import { CloudwatchLogStream } from '@cdktf/provider-aws/lib/cloudwatch-log-stream';
import type { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { metricAlarm } from './alarms';
import type { PolicyStatement } from './iam';
import { logGroup, logRetentionVariable } from './logs';
import type { PipelineStack } from './pipeline-stack';
import { numberVariable, REQUIRED, stringVariable } from './variables';

const STREAM_NAME = { regex: '[A-Za-z0-9_.-]{1,128}', hint: '1-128 letters, digits, "_", "." or "-"' };
export const KMS_KEY_ARN = { regex: 'arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}', hint: 'a KMS key ARN' };

export interface FirehoseSource {
  readonly streamName: string;
  readonly streamArn: string;
  /** Statements the delivery role needs to read the source stream. */
  readonly statements: PolicyStatement[];
}

/** Declares `source_stream_name` and `source_stream_kms_key_arn`; returns the ARN and read statements. */
export function firehoseSource(stack: PipelineStack, what: string): FirehoseSource {
  const name = stringVariable(stack, 'source_stream_name', {
    description: `Name of the Kinesis stream to deliver from (${what}). Required.`,
    default: REQUIRED,
    pattern: STREAM_NAME,
  });
  const key = stringVariable(stack, 'source_stream_kms_key_arn', {
    description: 'Customer KMS key of the source stream (for kms:Decrypt). Default null = AWS-managed key.',
    default: null,
    pattern: KMS_KEY_ARN,
  });
  const streamArn = stack.arn('kinesis', `stream/${name.stringValue}`);
  return {
    streamName: name.stringValue,
    streamArn,
    statements: [
      {
        sid: 'ReadSourceStream',
        actions: [
          'kinesis:DescribeStream',
          'kinesis:DescribeStreamSummary',
          'kinesis:GetShardIterator',
          'kinesis:GetRecords',
          'kinesis:ListShards',
        ],
        resources: [streamArn],
      },
      {
        sid: 'DecryptSourceStream',
        actions: ['kms:Decrypt'],
        resources: [key.stringValue],
        enabledWhen: `${key.fqn} != null`,
      },
    ],
  };
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
  const stream = new CloudwatchLogStream(stack, 'log_stream', { name: 'DestinationDelivery', logGroupName: group.name });
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
export function freshnessAlarm(stack: PipelineStack, deliveryStreamName: string, metricName: string, defaultSeconds: number): void {
  const threshold = numberVariable(stack, 'freshness_alarm_threshold_seconds', {
    description: `Alarm when the oldest record not yet delivered is older than this, in seconds. Default ${defaultSeconds}. Range 60-86400.`,
    default: defaultSeconds,
    min: 60,
    max: 86_400,
    unit: 'seconds',
  });
  metricAlarm(stack, 'freshness_alarm', {
    suffix: 'freshness',
    description: `Records wait longer than the threshold for delivery (${metricName}). Check the delivery stream's error logs and the destination.`,
    metric: {
      namespace: 'AWS/Firehose',
      metricName,
      dimensions: { DeliveryStreamName: deliveryStreamName },
      statistic: 'Maximum',
    },
    threshold: threshold.numberValue,
    comparison: 'GreaterThanThreshold',
    periodSeconds: 300,
  });
}
