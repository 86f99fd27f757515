/**
 * opensearch's variables, each declared once (components/shared/variables.ts), with the
 * cross-variable rule beside the variables it relates.
 */
import { logRetentionVariable } from '../shared/logs';
import { KMS_KEY_ARN, ROLE_ARN, SECURITY_GROUP_ID, SUBNET_ID, VPC_ID } from '../shared/patterns';
import type { PipelineStack } from '../shared/pipeline-stack';
import {
  boolVariable,
  crossVariableRule,
  numberVariable,
  REQUIRED,
  stringListVariable,
  stringVariable,
} from '../shared/variables';

/** The engine versions the component accepts (engine_version). */
export const ENGINE_VERSIONS = ['OpenSearch_2.15', 'OpenSearch_2.17', 'OpenSearch_2.19', 'OpenSearch_3.1'];

/** Declares the component's variables in `stack` and returns those the resources use. */
export function domainVariables(stack: PipelineStack) {
  const engine = stringVariable(stack, 'engine_version', {
    description: 'OpenSearch engine version.',
    default: 'OpenSearch_2.19',
    allowed: ENGINE_VERSIONS,
  });
  const instanceType = stringVariable(stack, 'instance_type', {
    description: 'Data node instance type.',
    default: 'r7g.large.search',
    pattern: {
      regex: '[a-z0-9]+\\.[a-z0-9]+\\.search',
      hint: 'an OpenSearch instance type such as r7g.large.search',
    },
  });
  const instanceCount = numberVariable(stack, 'instance_count', {
    description: 'Data nodes (a multiple of availability_zone_count with zone awareness).',
    default: 2,
    min: 1,
    max: 80,
  });
  const zoneAwareness = boolVariable(stack, 'zone_awareness_enabled', {
    description: 'Spread nodes and replicas across availability zones.',
    default: true,
  });
  const azCount = numberVariable(stack, 'availability_zone_count', {
    description: 'Availability zones with zone awareness.',
    default: 2,
    min: 2,
    max: 3,
  });
  const dedicatedMasters = boolVariable(stack, 'dedicated_master_enabled', {
    description: 'Run dedicated master nodes (recommended for production).',
    default: false,
  });
  const masterType = stringVariable(stack, 'dedicated_master_type', {
    description: 'Dedicated master instance type.',
    default: 'm7g.large.search',
    pattern: {
      regex: '[a-z0-9]+\\.[a-z0-9]+\\.search',
      hint: 'an OpenSearch instance type such as m7g.large.search',
    },
  });
  const masterCount = numberVariable(stack, 'dedicated_master_count', {
    description: 'Dedicated master nodes (odd).',
    default: 3,
    min: 3,
    max: 5,
  });
  const volumeSize = numberVariable(stack, 'ebs_volume_size_gb', {
    description: 'gp3 volume per data node, in GiB.',
    default: 100,
    min: 10,
    max: 16_384,
    unit: 'GiB',
  });
  const iops = numberVariable(stack, 'ebs_iops', {
    description: 'gp3 IOPS per volume.',
    default: 3000,
    min: 3000,
    max: 16_000,
  });
  const throughput = numberVariable(stack, 'ebs_throughput_mibps', {
    description: 'gp3 throughput per volume, in MiB/s.',
    default: 125,
    min: 125,
    max: 1000,
  });
  const kmsKey = stringVariable(stack, 'kms_key_arn', {
    description: 'Customer KMS key for encryption at rest; null = the AWS-managed OpenSearch key.',
    default: null,
    pattern: KMS_KEY_ARN,
  });
  const adminRole = stringVariable(stack, 'admin_role_arn', {
    description: 'IAM role that is the fine-grained access control master user (runs the post-apply setup).',
    default: REQUIRED,
    pattern: ROLE_ARN,
  });
  const accessRoles = stringListVariable(stack, 'access_role_arns', {
    description:
      'Other roles of this account the access policy admits (e.g. the firehose-opensearch delivery role); what they may do inside is decided by role mappings.',
    default: [],
    pattern: ROLE_ARN,
    maxItems: 20,
  });
  const subnets = stringListVariable(stack, 'subnet_ids', {
    description:
      'Place the domain in these VPC subnets (one per zone); [] = public endpoint (still IAM + FGAC protected).',
    default: [],
    pattern: SUBNET_ID,
    maxItems: 3,
  });
  const vpcId = stringVariable(stack, 'vpc_id', {
    description: 'VPC of subnet_ids (for the domain security group).',
    default: null,
    pattern: VPC_ID,
  });
  const clientGroups = stringListVariable(stack, 'client_security_group_ids', {
    description: 'Security groups allowed to reach the domain on 443 in a VPC (e.g. Firehose VPC delivery).',
    default: [],
    pattern: SECURITY_GROUP_ID,
    maxItems: 10,
  });
  const vpcRule = crossVariableRule(stack, {
    variables: ['subnet_ids', 'vpc_id'],
    message: 'vpc_id: must be set when subnet_ids is not empty',
    enforcedBy: 'the domain precondition',
    schema: {
      if: { properties: { subnet_ids: { minItems: 1 } }, required: ['subnet_ids'] },
      then: { required: ['vpc_id'], properties: { vpc_id: { type: 'string' } } },
    },
  });
  const retentionDays = logRetentionVariable(stack);
  const freeStorageThreshold = numberVariable(stack, 'free_storage_alarm_threshold_mb', {
    description: 'Alarm when a node has less free storage than this, in MiB.',
    default: 20_480,
    min: 1024,
    max: 10_485_760,
    unit: 'MiB',
  });
  return {
    engine,
    instanceType,
    instanceCount,
    zoneAwareness,
    azCount,
    dedicatedMasters,
    masterType,
    masterCount,
    volumeSize,
    iops,
    throughput,
    kmsKey,
    adminRole,
    accessRoles,
    subnets,
    vpcId,
    clientGroups,
    vpcRule,
    retentionDays,
    freeStorageThreshold,
  };
}
