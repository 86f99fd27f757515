/**
 * SQS queues that hold records nobody has dealt with yet (dead-letter queues, on-failure
 * destinations): encrypted, TLS-only, deletion-guarded, and watched by an alarm that fires on
 * the first visible message. One builder, so every such queue is the same in all these ways.
 */
import type { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { metricAlarm } from './alarms';
import { deletionGuard } from './deletion-guard';
import { denyInsecureTransport, policyDocument } from './iam';
import { metricOf, SQS } from './metrics';
import type { PipelineStack } from './pipeline-stack';

/** SQS's longest retention (14 days): these messages wait for a person to redrive or replay them. */
export const HOLDING_QUEUE_RETENTION_SECONDS = 1_209_600;

export interface HoldingQueueProps {
  /** Queue name suffix after the label id, e.g. "dlq" → `<label>-dlq`; also the alarm's prefix. */
  readonly suffix: string;
  /** What the queue holds, for the deletion guard's error, e.g. "dead-letter queue". */
  readonly what: string;
  /** What is wrong when the alarm fires and what to do. */
  readonly alarmDescription: string;
}

export interface HoldingQueue {
  readonly queue: SqsQueue;
  readonly alarm: CloudwatchMetricAlarm;
}

/**
 * Creates, with `id` as the prefix of every logical name:
 * - `aws_sqs_queue.<id>`: `<label>-<suffix>`, SSE-SQS, 14 days retention;
 * - `terraform_data.<id>_deletion_guard`: refuses destroy/replace while deletion_protection is on
 *   (the messages are the only record of what still needs doing);
 * - `aws_sqs_queue_policy.<id>_policy`: denies every request not made over TLS;
 * - `aws_cloudwatch_metric_alarm.<id>_alarm`: `<label>-<suffix>-messages`,
 *   ApproximateNumberOfMessagesVisible > 0 on this QueueName.
 */
export function holdingQueue(stack: PipelineStack, id: string, props: HoldingQueueProps): HoldingQueue {
  const queue = new SqsQueue(stack, id, {
    name: stack.resourceName(props.suffix),
    sqsManagedSseEnabled: true,
    messageRetentionSeconds: HOLDING_QUEUE_RETENTION_SECONDS,
  });
  deletionGuard(stack, `${id}_deletion_guard`, {
    protectedId: queue.arn,
    what: `${props.what} ${queue.name}`,
    enabled: stack.deletionProtection,
  });
  new SqsQueuePolicy(stack, `${id}_policy`, {
    queueUrl: queue.url,
    policy: policyDocument(stack, `${id}_policy_document`, [denyInsecureTransport('sqs', [queue.arn])]).json,
  });
  const alarm = metricAlarm(stack, `${id}_alarm`, {
    suffix: `${props.suffix}-messages`,
    description: props.alarmDescription,
    metric: metricOf(SQS.messagesVisible, queue.name),
    threshold: 0,
    comparison: 'GreaterThanThreshold',
  });
  return { queue, alarm };
}
