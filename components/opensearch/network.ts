/** opensearch's network: in a VPC (subnet_ids given) the domain's own group admits HTTPS from the client groups only. */
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { TerraformIterator, type TerraformVariable, Token } from 'cdktf';
import { countWhen, first } from '../shared/expressions';
import type { PipelineStack } from '../shared/pipeline-stack';

/** `aws_security_group.domain_sg` (only when `inVpc`) and one ingress rule per client group. */
export function domainNetwork(
  stack: PipelineStack,
  props: { inVpc: string; vpcId: TerraformVariable; clientGroups: TerraformVariable },
): SecurityGroup {
  const domainGroup = new SecurityGroup(stack, 'domain_sg', {
    count: countWhen(props.inVpc),
    name: stack.resourceName('domain'),
    description: 'OpenSearch domain: HTTPS from the client security groups only',
    vpcId: props.vpcId.stringValue,
  });
  const clients = TerraformIterator.fromList(props.clientGroups.listValue);
  new VpcSecurityGroupIngressRule(stack, 'domain_https_from_clients', {
    forEach: clients,
    securityGroupId: first(domainGroup, 'id'),
    referencedSecurityGroupId: Token.asString(clients.value),
    ipProtocol: 'tcp',
    fromPort: 443,
    toPort: 443,
    description: 'HTTPS from a client security group',
  });
  return domainGroup;
}
