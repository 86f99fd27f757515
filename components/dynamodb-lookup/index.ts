/**
 * dynamodb-lookup: the customer profile table the enrichment Lambda reads (`pk` = customer id),
 * and an optional DAX cluster in front of it.
 *
 * DAX and the Lambda need to trust each other's security groups, which would make the two
 * components depend on each other. Instead this component creates both groups: the cluster's,
 * which admits only the "DAX client" group on the TLS port, and the client group itself, which
 * lambda-enrichment attaches to the function (output `dax_client_security_group_id`).
 */
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Token } from 'cdktf';
import type { Construct } from 'constructs';
import { metricAlarm } from '../shared/alarms';
import { skipCheck } from '../shared/checkov';
import { cond, countWhen, expr, firstRef, template, whenEnabled } from '../shared/expressions';
import { DYNAMODB, metricOf } from '../shared/metrics';
import { KMS_KEY_ARN, SUBNET_ID, VPC_ID } from '../shared/patterns';
import { PipelineStack } from '../shared/pipeline-stack';
import {
  boolVariable,
  crossVariableRule,
  numberVariable,
  stringListVariable,
  stringVariable,
} from '../shared/variables';
import { daxCluster } from './dax';

const DAX_NODE_TYPES = [
  'dax.t3.small',
  'dax.t3.medium',
  'dax.r5.large',
  'dax.r5.xlarge',
  'dax.r5.2xlarge',
  'dax.r5.4xlarge',
];

export class DynamodbLookupStack extends PipelineStack {
  constructor(scope: Construct, id = 'dynamodb-lookup') {
    super(scope, id, { defaultName: 'lookup' });

    const kmsKeyArn = stringVariable(this, 'kms_key_arn', {
      description:
        'Customer-managed KMS key ARN for table encryption; null = the AWS-managed key alias/aws/dynamodb (still encrypted with KMS).',
      default: null,
      pattern: KMS_KEY_ARN,
    });
    const daxEnabled = boolVariable(this, 'dax_enabled', {
      description: 'Create a DAX cluster in front of the table.',
      default: false,
    });
    const vpcId = stringVariable(this, 'vpc_id', {
      description: 'VPC for the DAX cluster and its client security group. Required when dax_enabled.',
      default: null,
      pattern: VPC_ID,
    });
    const subnetIds = stringListVariable(this, 'dax_subnet_ids', {
      description: 'Private subnets for the DAX nodes (one per AZ used). Required (≥ 1) when dax_enabled.',
      default: [],
      pattern: SUBNET_ID,
      maxItems: 16,
    });
    const nodeType = stringVariable(this, 'dax_node_type', {
      description: 'DAX node type.',
      default: 'dax.t3.small',
      allowed: DAX_NODE_TYPES,
    });
    const replicationFactor = numberVariable(this, 'dax_replication_factor', {
      description: 'DAX nodes (1 primary + read replicas); 3 or more for production across AZs.',
      default: 3,
      min: 1,
      max: 10,
    });
    const daxRule = crossVariableRule(this, {
      variables: ['dax_enabled', 'vpc_id', 'dax_subnet_ids'],
      message: 'dax_enabled: true needs vpc_id and at least one entry in dax_subnet_ids',
      enforcedBy: 'the DAX cluster precondition',
      schema: {
        if: { properties: { dax_enabled: { const: true } }, required: ['dax_enabled'] },
        then: {
          required: ['vpc_id', 'dax_subnet_ids'],
          properties: { vpc_id: { type: 'string' }, dax_subnet_ids: { minItems: 1 } },
        },
      },
    });

    const table = new DynamodbTable(this, 'table', {
      name: this.resourceName(),
      billingMode: 'PAY_PER_REQUEST',
      hashKey: 'pk',
      attribute: [{ name: 'pk', type: 'S' }],
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true, kmsKeyArn: kmsKeyArn.stringValue },
      deletionProtectionEnabled: this.deletionProtection,
    });
    skipCheck(
      table,
      'CKV_AWS_119',
      'encrypted with KMS either way: kms_key_arn selects a customer-managed key, default null = the AWS-managed alias/aws/dynamodb (the table holds reference data, no secrets)',
      { planOnly: true },
    );

    const dax = daxEnabled.fqn;
    const daxCount = countWhen(dax);

    const clientGroup = new SecurityGroup(this, 'dax_client_sg', {
      count: daxCount,
      name: this.resourceName('dax-client'),
      description: 'Attach to DAX clients (the enrichment Lambda): the only source the DAX cluster admits',
      vpcId: vpcId.stringValue,
      lifecycle: {
        precondition: [
          {
            condition: Token.asAny(`\${var.vpc_id != null && length(var.dax_subnet_ids) > 0}`),
            errorMessage: daxRule,
          },
          {
            condition: Token.asAny('${length(local.label_id) <= 20}'),
            errorMessage:
              'Invalid label: DAX cluster names are 1-20 characters; with dax_enabled, shorten namespace, environment, stage or name.',
          },
        ],
      },
    });
    skipCheck(
      clientGroup,
      'CKV2_AWS_5',
      'attached to the enrichment function by lambda-enrichment (vpc_security_group_ids), a component checkov does not see here',
    );
    const { cluster, clusterGroup } = daxCluster(this, {
      count: daxCount,
      table,
      clientGroup,
      vpcId,
      subnetIds,
      nodeType,
      replicationFactor,
    });

    metricAlarm(this, 'read_throttle_alarm', {
      suffix: 'read-throttled',
      description:
        'Lookups against the table are being throttled (ReadThrottleEvents > 0); enrichment slows down and retries.',
      metric: metricOf(DYNAMODB.readThrottles, table.name),
      threshold: 0,
      comparison: 'GreaterThanThreshold',
    });

    this.output('table_name', table.name, 'Name of the lookup table (hash key "pk" = customer id).');
    this.output('table_arn', table.arn, 'ARN of the lookup table.');
    this.output(
      'dax_endpoint',
      expr(cond(dax, template(`daxs://${expr(firstRef(cluster, 'cluster_address'))}`), '""')),
      'DAX TLS endpoint for clients (daxs://host), or "" without DAX. Wire it into lambda-enrichment dax_endpoint.',
    );
    this.output('dax_cluster_arn', whenEnabled(dax, cluster, 'arn'), 'ARN of the DAX cluster, or "".');
    this.output(
      'dax_security_group_id',
      whenEnabled(dax, clusterGroup, 'id'),
      'The DAX cluster\'s security group (lambda-enrichment dax_security_group_id: the function\'s egress on 9111 goes to it), or "".',
    );
    this.output(
      'dax_client_security_group_id',
      whenEnabled(dax, clientGroup, 'id'),
      'Security group to attach to DAX clients (lambda-enrichment dax_client_security_group_id), or "".',
    );
  }
}
