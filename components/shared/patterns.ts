/** RE2 patterns (with a human description) shared by the variables of several components. */

/** A Kinesis stream, Lambda function, SQS queue or consumer name. */
export const RESOURCE_NAME = { regex: '[A-Za-z0-9_.-]{1,128}', hint: '1-128 letters, digits, "_", "." or "-"' };
export const KMS_KEY_ARN = {
  regex: 'arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}',
  hint: 'a KMS key ARN',
};
export const VPC_ID = { regex: 'vpc-[0-9a-f]{8,17}', hint: 'a VPC id (vpc-...)' };
export const SUBNET_ID = { regex: 'subnet-[0-9a-f]{8,17}', hint: 'a subnet id (subnet-...)' };
export const SECURITY_GROUP_ID = { regex: 'sg-[0-9a-f]{8,17}', hint: 'a security group id (sg-...)' };
export const BUCKET_NAME = {
  regex: '[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]',
  hint: 'an S3 bucket name (3-63 lowercase letters, digits, "." or "-")',
};
export const ROLE_ARN = {
  regex: 'arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}',
  hint: 'an IAM role ARN',
};
