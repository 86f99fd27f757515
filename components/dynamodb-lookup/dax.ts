/**
 * dynamodb-lookup's optional DAX cluster (count = dax_enabled ? 1 : 0): its security group, which
 * admits only the DAX client group on the TLS port, the client group's matching egress, the subnet
 * group, a read-only role on the table and the TLS-only, encrypted cluster.
 */
import { DaxCluster } from '@cdktf/provider-aws/lib/dax-cluster';
import { DaxSubnetGroup } from '@cdktf/provider-aws/lib/dax-subnet-group';
import type { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import type { TerraformVariable } from 'cdktf';
import { first } from '../shared/expressions';
import { serviceRole } from '../shared/iam';
import type { PipelineStack } from '../shared/pipeline-stack';

/** DAX serves TLS-encrypted clients on this port (daxs://). */
export const DAX_TLS_PORT = 9111;

export interface DaxProps {
  /** `count` of every DAX resource (countWhen(dax_enabled)). */
  readonly count: number;
  readonly table: DynamodbTable;
  /** The DAX client group (created by the component, attached by lambda-enrichment). */
  readonly clientGroup: SecurityGroup;
  readonly vpcId: TerraformVariable;
  readonly subnetIds: TerraformVariable;
  readonly nodeType: TerraformVariable;
  readonly replicationFactor: TerraformVariable;
}

/** `aws_security_group.dax_sg`, its rules, `aws_dax_subnet_group.dax_subnets`, the role and `aws_dax_cluster.dax`. */
export function daxCluster(
  stack: PipelineStack,
  props: DaxProps,
): { cluster: DaxCluster; clusterGroup: SecurityGroup } {
  const { count, clientGroup } = props;
  const clusterGroup = new SecurityGroup(stack, 'dax_sg', {
    count,
    name: stack.resourceName('dax'),
    description: `DAX cluster: TLS port ${DAX_TLS_PORT} from the DAX client group only`,
    vpcId: props.vpcId.stringValue,
  });
  new VpcSecurityGroupIngressRule(stack, 'dax_ingress_from_clients', {
    count,
    securityGroupId: first(clusterGroup, 'id'),
    referencedSecurityGroupId: first(clientGroup, 'id'),
    ipProtocol: 'tcp',
    fromPort: DAX_TLS_PORT,
    toPort: DAX_TLS_PORT,
    description: 'DAX over TLS from DAX clients',
  });
  new VpcSecurityGroupEgressRule(stack, 'clients_egress_to_dax', {
    count,
    securityGroupId: first(clientGroup, 'id'),
    referencedSecurityGroupId: first(clusterGroup, 'id'),
    ipProtocol: 'tcp',
    fromPort: DAX_TLS_PORT,
    toPort: DAX_TLS_PORT,
    description: 'DAX over TLS to the cluster',
  });

  const subnetGroup = new DaxSubnetGroup(stack, 'dax_subnets', {
    count,
    name: stack.resourceName(),
    subnetIds: props.subnetIds.listValue,
  });
  const daxRole = serviceRole(stack, 'dax_role', {
    suffix: 'dax',
    servicePrincipal: 'dax.amazonaws.com',
    description: 'DAX reads the lookup table on behalf of its clients (read-only)',
    count,
    statements: [
      {
        sid: 'ReadLookupTable',
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:DescribeTable'],
        resources: [props.table.arn],
      },
    ],
  });
  const cluster = new DaxCluster(stack, 'dax', {
    count,
    clusterName: stack.resourceName(),
    description: 'Read-through cache in front of the lookup table',
    nodeType: props.nodeType.stringValue,
    replicationFactor: props.replicationFactor.numberValue,
    iamRoleArn: first(daxRole, 'arn'),
    subnetGroupName: first(subnetGroup, 'name'),
    securityGroupIds: [first(clusterGroup, 'id')],
    serverSideEncryption: { enabled: true },
    clusterEndpointEncryptionType: 'TLS',
  });
  return { cluster, clusterGroup };
}
