/**
 * lambda-enrichment's network: in a VPC (vpc_subnet_ids given) the function gets its own security
 * group, HTTPS out to AWS APIs and DAX over TLS out to the DAX cluster's group; nothing comes in.
 */
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import type { TerraformVariable } from 'cdktf';
import { cond, countWhen, exprList, first, splatRef } from '../shared/expressions';
import type { PipelineStack } from '../shared/pipeline-stack';
import { varRef } from '../shared/variables';

/** DAX serves TLS-encrypted clients on this port (daxs://). */
export const DAX_TLS_PORT = 9111;

export interface FunctionNetworkProps {
  readonly vpcId: TerraformVariable;
  readonly subnets: TerraformVariable;
  readonly extraGroups: TerraformVariable;
  readonly daxEndpoint: TerraformVariable;
  /** The DAX client group (dynamodb-lookup), attached to the function. */
  readonly daxClientGroup: TerraformVariable;
  /** The DAX cluster's group (dynamodb-lookup), the target of the DAX egress rule. */
  readonly daxClusterGroup: TerraformVariable;
}

export interface FunctionNetwork {
  /** Terraform bool expression: the function runs in a VPC. */
  readonly inVpc: string;
  /** `vpc_config.security_group_ids`: its own group, the DAX client group if any, the extra ones. */
  readonly securityGroupIds: string[];
}

/** `aws_security_group.function_sg` and its egress rules, created only in a VPC. */
export function functionNetwork(stack: PipelineStack, props: FunctionNetworkProps): FunctionNetwork {
  const inVpc = `length(${props.subnets.fqn}) > 0`;
  const functionGroup = new SecurityGroup(stack, 'function_sg', {
    count: countWhen(inVpc),
    name: stack.resourceName('function'),
    description: 'Enrichment function: HTTPS out to AWS APIs (Kinesis, DynamoDB, SQS, X-Ray), DAX over TLS; nothing in',
    vpcId: props.vpcId.stringValue,
  });
  new VpcSecurityGroupEgressRule(stack, 'function_https_egress', {
    count: countWhen(inVpc),
    securityGroupId: first(functionGroup, 'id'),
    // AWS service endpoints (through NAT or VPC endpoints) have no fixed addresses.
    cidrIpv4: '0.0.0.0/0',
    ipProtocol: 'tcp',
    fromPort: 443,
    toPort: 443,
    description: 'HTTPS to AWS service endpoints',
  });
  // DAX over TLS (daxs://) listens on 9111, not 443: without this the function's own group
  // would leave DAX reachable only through the client group's rules.
  const toDax = `${inVpc} && ${props.daxEndpoint.fqn} != "" && ${props.daxClusterGroup.fqn} != ""`;
  new VpcSecurityGroupEgressRule(stack, 'function_dax_egress', {
    count: countWhen(toDax),
    securityGroupId: first(functionGroup, 'id'),
    referencedSecurityGroupId: props.daxClusterGroup.stringValue,
    ipProtocol: 'tcp',
    fromPort: DAX_TLS_PORT,
    toPort: DAX_TLS_PORT,
    description: 'DAX over TLS to the DAX cluster',
  });
  const clientGroup = varRef(props.daxClientGroup);
  const securityGroupIds = exprList(
    `distinct(concat(${splatRef(functionGroup, 'id')}, ${cond(`${clientGroup} == ""`, '[]', `[${clientGroup}]`)}, ${props.extraGroups.fqn}))`,
  );
  return { inVpc, securityGroupIds };
}
