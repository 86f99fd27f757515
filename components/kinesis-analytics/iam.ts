/**
 * kinesis-analytics' role: created first (the artifact key's policy names it), its least-privilege
 * policy last (it names the bucket, key, log stream and, when enabled, the Timestream table).
 */
import type { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import type { CloudwatchLogStream } from '@cdktf/provider-aws/lib/cloudwatch-log-stream';
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { TerraformLocal, type TerraformVariable } from 'cdktf';
import { cond, expr, template } from '../shared/expressions';
import { type PolicyStatement, rolePolicy, serviceRole } from '../shared/iam';
import { viaService } from '../shared/kms';
import type { PipelineStack } from '../shared/pipeline-stack';
import type { StreamAccess } from '../shared/streams';
import { type FlinkArtifacts, JAR_KEY } from './artifacts';

/** `aws_iam_role.role`, assumed by Managed Flink. */
export function analyticsRole(stack: PipelineStack): IamRole {
  return serviceRole(stack, 'role', {
    suffix: 'analytics',
    servicePrincipal: 'kinesisanalytics.amazonaws.com',
    description: 'Managed Flink: read the ingest stream, write aggregates, read the jar, write logs',
  });
}

export interface AnalyticsPolicyProps {
  readonly source: StreamAccess;
  /** Reading through the EFO consumer (enabled only with input_reader = EFO). */
  readonly readThroughConsumer: PolicyStatement;
  readonly destination: StreamAccess;
  readonly artifacts: FlinkArtifacts;
  readonly logs: CloudwatchLogGroup;
  readonly logStream: CloudwatchLogStream;
  readonly timestreamEnabled: TerraformVariable;
  readonly timestreamDatabase: TerraformVariable;
  readonly timestreamTable: TerraformVariable;
}

/** `aws_iam_role_policy.role_policy` (and `local.timestream_table_arn`, null unless enabled). */
export function analyticsRolePolicy(stack: PipelineStack, role: IamRole, props: AnalyticsPolicyProps): void {
  const timestream = props.timestreamEnabled.fqn;
  const tableArn = template(
    `arn:${expr(stack.partitionExpression)}:timestream:${expr(stack.regionExpression)}:${expr(stack.accountIdExpression)}:database/${expr(props.timestreamDatabase.fqn)}/table/${expr(props.timestreamTable.fqn)}`,
  );
  const timestreamTableArn = new TerraformLocal(
    stack,
    'timestream_table_arn',
    expr(cond(timestream, tableArn, 'null')),
  );
  const { bucket, key } = props.artifacts;
  const viaS3 = viaService(stack, 's3');
  rolePolicy(stack, 'role', role, [
    ...props.source.statements,
    props.readThroughConsumer,
    ...props.destination.statements,
    { sid: 'ReadJar', actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [`${bucket.arn}/${JAR_KEY}`] },
    { sid: 'DecryptJar', actions: ['kms:Decrypt'], resources: [key.arn], conditions: viaS3 },
    {
      sid: 'FindLogGroup',
      actions: ['logs:DescribeLogGroups'],
      // DescribeLogGroups authorizes on the account's log-group namespace, not one group.
      resources: [stack.arn('logs', 'log-group:*')],
    },
    { sid: 'FindLogStream', actions: ['logs:DescribeLogStreams'], resources: [`${props.logs.arn}:log-stream:*`] },
    { sid: 'WriteLogs', actions: ['logs:PutLogEvents'], resources: [props.logStream.arn] },
    {
      sid: 'WriteTimestream',
      actions: ['timestream:WriteRecords'],
      resources: [timestreamTableArn.asString],
      enabledWhen: timestream,
    },
    {
      sid: 'DiscoverTimestreamEndpoint',
      actions: ['timestream:DescribeEndpoints'],
      resources: ['*'],
      wildcardResourceReason: 'Timestream endpoint discovery has no resource-level permissions',
      enabledWhen: timestream,
    },
  ]);
}
