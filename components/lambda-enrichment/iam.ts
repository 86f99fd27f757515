/**
 * lambda-enrichment's role: exactly what the function and its event source mapping do, on exact
 * ARNs (the wildcards are the two AWS offers no resource for).
 */
import type { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import type { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import type { TerraformVariable } from 'cdktf';
import { type PolicyStatement, serviceRole } from '../shared/iam';
import type { PipelineStack } from '../shared/pipeline-stack';
import type { StreamAccess } from '../shared/streams';

export interface EnrichmentRoleProps {
  readonly source: StreamAccess;
  /** Reading through the EFO consumer (enabled only with efo_consumer_name). */
  readonly readThroughConsumer: PolicyStatement;
  readonly destination: StreamAccess;
  readonly table: TerraformVariable;
  readonly daxEndpoint: TerraformVariable;
  readonly daxClusterArn: TerraformVariable;
  readonly dlq: SqsQueue;
  readonly failures: SqsQueue;
  readonly logs: CloudwatchLogGroup;
  /** Terraform bool expression: the function runs in a VPC (network interfaces). */
  readonly inVpc: string;
}

/** `aws_iam_role.role` with its least-privilege inline policy. */
export function enrichmentRole(stack: PipelineStack, props: EnrichmentRoleProps): IamRole {
  const tableArn = stack.arn('dynamodb', `table/${props.table.stringValue}`);
  const statements: PolicyStatement[] = [
    ...props.source.statements,
    props.readThroughConsumer,
    ...props.destination.statements,
    { sid: 'LookupProfiles', actions: ['dynamodb:BatchGetItem'], resources: [tableArn] },
    {
      sid: 'LookupProfilesThroughDax',
      actions: ['dax:BatchGetItem'],
      resources: [props.daxClusterArn.stringValue],
      enabledWhen: `${props.daxEndpoint.fqn} != ""`,
    },
    { sid: 'DeadLetterQueue', actions: ['sqs:SendMessage'], resources: [props.dlq.arn] },
    // The mapping sends its on-failure records with the function's role.
    { sid: 'OnFailureDestination', actions: ['sqs:SendMessage'], resources: [props.failures.arn] },
    { sid: 'WriteLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${props.logs.arn}:*`] },
    {
      sid: 'Tracing',
      actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
      resources: ['*'],
      wildcardResourceReason: 'X-Ray has no resource-level permissions for trace segments',
    },
    {
      sid: 'VpcNetworkInterfaces',
      actions: [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      resources: ['*'],
      wildcardResourceReason:
        'Lambda creates VPC network interfaces whose ids are not known in advance (AWS requires "*")',
      enabledWhen: props.inVpc,
    },
  ];
  return serviceRole(stack, 'role', {
    suffix: 'enrichment',
    servicePrincipal: 'lambda.amazonaws.com',
    description:
      'Enrichment function: read the ingest stream, look up profiles, write the output stream, the DLQ and the on-failure queue',
    statements,
  });
}
