/** lambda-enrichment's outputs (monitoring and atmos replay-failures read them). */
import type { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import type { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping';
import type { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import type { PipelineStack } from '../shared/pipeline-stack';
import type { EnrichmentQueues } from './queues';

export interface EnrichmentOutputs extends EnrichmentQueues {
  readonly fn: LambdaFunction;
  readonly role: IamRole;
  readonly mapping: LambdaEventSourceMapping;
  readonly logs: CloudwatchLogGroup;
}

export function enrichmentOutputs(stack: PipelineStack, of: EnrichmentOutputs): void {
  stack.output('function_name', of.fn.functionName, 'Name of the enrichment function.');
  stack.output('function_arn', of.fn.arn, 'ARN of the enrichment function.');
  stack.output('role_arn', of.role.arn, 'ARN of the function role.');
  stack.output('dlq_url', of.dlq.url, 'URL of the dead-letter queue (malformed records).');
  stack.output('dlq_arn', of.dlq.arn, 'ARN of the dead-letter queue.');
  stack.output(
    'failures_queue_url',
    of.failures.url,
    "URL of the event source mapping's on-failure queue (atmos replay-failures reads it).",
  );
  stack.output('failures_queue_arn', of.failures.arn, "ARN of the event source mapping's on-failure queue.");
  stack.output('event_source_mapping_uuid', of.mapping.uuid, 'UUID of the Kinesis event source mapping.');
  stack.output('log_group_name', of.logs.name, 'Log group of the function.');
}
