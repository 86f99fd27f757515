/**
 * opensearch's resource policies: who may publish the domain's logs (the OpenSearch service, for
 * this account only) and who may call the domain (the listed roles of this account, never es:*).
 */
import type { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { CloudwatchLogResourcePolicy } from '@cdktf/provider-aws/lib/cloudwatch-log-resource-policy';
import type { OpensearchDomain } from '@cdktf/provider-aws/lib/opensearch-domain';
import { OpensearchDomainPolicy } from '@cdktf/provider-aws/lib/opensearch-domain-policy';
import type { TerraformVariable } from 'cdktf';
import { exprList } from '../shared/expressions';
import { policyDocument } from '../shared/iam';
import type { PipelineStack } from '../shared/pipeline-stack';
import { varRef } from '../shared/variables';

/** The HTTP actions a client of the domain can be granted (never es:*). */
export const HTTP_ACTIONS = [
  'es:ESHttpGet',
  'es:ESHttpHead',
  'es:ESHttpPost',
  'es:ESHttpPut',
  'es:ESHttpPatch',
  'es:ESHttpDelete',
];

/** `aws_cloudwatch_log_resource_policy.log_publishing_policy` on the domain's log groups. */
export function logPublishingPolicy(
  stack: PipelineStack,
  groups: readonly CloudwatchLogGroup[],
): CloudwatchLogResourcePolicy {
  return new CloudwatchLogResourcePolicy(stack, 'log_publishing_policy', {
    policyName: stack.resourceName('opensearch-logs'),
    policyDocument: policyDocument(stack, 'log_publishing_policy_document', [
      {
        sid: 'OpenSearchPublishesLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: groups.map((group) => `${group.arn}:*`),
        principals: [{ type: 'Service', identifiers: ['es.amazonaws.com'] }],
        conditions: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [stack.accountId] }],
      },
    ]).json,
  });
}

/**
 * `aws_opensearch_domain_policy.access_policy`. Principal = this account, narrowed by
 * aws:PrincipalArn: the listed roles need not exist yet (firehose-opensearch deploys after this
 * domain), which a role principal would require.
 */
export function domainAccessPolicy(
  stack: PipelineStack,
  domain: OpensearchDomain,
  props: { adminRole: TerraformVariable; accessRoles: TerraformVariable },
): OpensearchDomainPolicy {
  return new OpensearchDomainPolicy(stack, 'access_policy', {
    domainName: domain.domainName,
    accessPolicies: policyDocument(stack, 'access_policy_document', [
      {
        sid: 'ListedRolesOnly',
        actions: HTTP_ACTIONS,
        resources: [`${domain.arn}/*`],
        principals: [{ type: 'AWS', identifiers: [`arn:${stack.partition}:iam::${stack.accountId}:root`] }],
        conditions: [
          {
            test: 'ArnLike',
            variable: 'aws:PrincipalArn',
            values: exprList(`concat([${varRef(props.adminRole)}], ${varRef(props.accessRoles)})`),
          },
        ],
      },
    ]).json,
  });
}
