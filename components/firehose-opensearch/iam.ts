/**
 * firehose-opensearch's delivery role policy: read the output stream, index into the domain,
 * back up failed documents under FAILED_PREFIX/ERROR_PREFIX, write its error log, and (only with
 * VPC delivery) manage its network interfaces.
 */
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import type { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { type FirehoseLogging, s3WriteStatements } from '../shared/firehose';
import { rolePolicy } from '../shared/iam';
import type { PipelineStack } from '../shared/pipeline-stack';
import type { SecureBucket } from '../shared/secure-bucket';
import type { StreamAccess } from '../shared/streams';

export interface DeliveryPolicyProps {
  readonly source: StreamAccess;
  readonly domainArn: string;
  readonly bucket: SecureBucket;
  readonly key: KmsKey;
  /** Object prefixes of the backup bucket the role may write under. */
  readonly prefixes: readonly string[];
  readonly logging: FirehoseLogging;
  /** Terraform bool expression: delivery through VPC subnets. */
  readonly inVpc: string;
}

/** `aws_iam_role_policy.role_policy` of the delivery role. */
export function deliveryRolePolicy(stack: PipelineStack, role: IamRole, props: DeliveryPolicyProps): void {
  rolePolicy(stack, 'role', role, [
    ...props.source.statements,
    {
      sid: 'IndexDocuments',
      actions: ['es:ESHttpGet', 'es:ESHttpPost', 'es:ESHttpPut'],
      resources: [props.domainArn, `${props.domainArn}/*`],
    },
    {
      sid: 'DescribeDomain',
      actions: ['es:DescribeDomain', 'es:DescribeDomains', 'es:DescribeDomainConfig'],
      resources: [props.domainArn],
    },
    ...s3WriteStatements(stack, {
      label: 'Backup',
      bucketArn: props.bucket.arn,
      keyArn: props.key.arn,
      prefixes: props.prefixes,
    }),
    props.logging.statement,
    {
      sid: 'VpcDelivery',
      actions: [
        'ec2:DescribeVpcs',
        'ec2:DescribeVpcAttribute',
        'ec2:DescribeSubnets',
        'ec2:DescribeSecurityGroups',
        'ec2:DescribeNetworkInterfaces',
        'ec2:CreateNetworkInterface',
        'ec2:CreateNetworkInterfacePermission',
        'ec2:DeleteNetworkInterface',
      ],
      resources: ['*'],
      wildcardResourceReason:
        'Firehose creates VPC network interfaces whose ids are not known in advance (AWS requires "*")',
      enabledWhen: props.inVpc,
    },
  ]);
}
