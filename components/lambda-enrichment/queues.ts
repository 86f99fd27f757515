/**
 * lambda-enrichment's two holding queues (shared/queue.ts: encrypted, TLS-only, deletion-guarded,
 * alarmed on the first message).
 *
 * The handler's malformed records and the mapping's given-up batches wait in these queues until
 * someone redrives or replays them: both are stateful stores, kept apart because they need
 * different handling (a malformed record needs a fix of its producer, a given-up batch a replay
 * once the outage is over: atmos replay-failures).
 */
import type { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import type { PipelineStack } from '../shared/pipeline-stack';
import { holdingQueue } from '../shared/queue';
import { DLQ_SUFFIX, FAILURES_QUEUE_SUFFIX } from './contract';

export interface EnrichmentQueues {
  /** `<label>-dlq`: malformed records, written by the handler (DLQ_URL). */
  readonly dlq: SqsQueue;
  /** `<label>-failures`: the event source mapping's on-failure destination. */
  readonly failures: SqsQueue;
}

/** `aws_sqs_queue.dlq` and `aws_sqs_queue.failures`, each with policy, deletion guard and alarm. */
export function enrichmentQueues(stack: PipelineStack): EnrichmentQueues {
  const { queue: dlq } = holdingQueue(stack, 'dlq', {
    suffix: DLQ_SUFFIX,
    what: 'dead-letter queue',
    alarmDescription:
      'Malformed records reached the dead-letter queue (not JSON, no customer_id, too large). Inspect them and fix the producer.',
  });
  const { queue: failures } = holdingQueue(stack, 'failures', {
    suffix: FAILURES_QUEUE_SUFFIX,
    what: 'on-failure queue',
    alarmDescription:
      'The event source mapping gave up on records (retries exhausted or maximum record age reached). End the outage, then run `atmos replay-failures -s <stack>` while the records are still in the ingest stream.',
  });
  return { dlq, failures };
}
