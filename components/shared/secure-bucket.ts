/**
 * An S3 bucket hardened the same way everywhere: versioning, SSE-KMS with a bucket key, all
 * public access blocked, object ownership enforced, a TLS-only bucket policy, a lifecycle,
 * optional access logging, and a deletion guard.
 */
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketLoggingA } from '@cdktf/provider-aws/lib/s3-bucket-logging';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import type { IResolvable } from 'cdktf';
import { skipCheck } from './checkov';
import { countWhen, expr, first, ref } from './expressions';
import { deletionGuard } from './deletion-guard';
import { denyInsecureTransport, policyDocument } from './iam';
import { BUCKET_NAME } from './patterns';
import type { PipelineStack } from './pipeline-stack';
import { numberVariable, stringVariable } from './variables';

/** Lifecycle settings of a bucket, as Terraform expressions (see {@link bucketLifecycleVariables}). */
export interface BucketLifecycle {
  readonly transitionDays: number;
  readonly transitionStorageClass: string;
  readonly expirationDays: number;
  readonly noncurrentExpirationDays: number;
  readonly abortIncompleteUploadDays: number;
}

export const TRANSITION_STORAGE_CLASSES = [
  'STANDARD_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
];

/**
 * Declares `<prefix>_transition_days`, `_transition_storage_class`, `_expiration_days`,
 * `_noncurrent_expiration_days` and `_abort_incomplete_upload_days`.
 */
export function bucketLifecycleVariables(
  stack: PipelineStack,
  prefix: string,
  defaults: { transitionDays: number; expirationDays: number },
): BucketLifecycle {
  const transitionDays = numberVariable(stack, `${prefix}_transition_days`, {
    description: 'Days before objects move to the colder storage class.',
    default: defaults.transitionDays,
    min: 30,
    max: 3650,
    unit: 'days',
  });
  const storageClass = stringVariable(stack, `${prefix}_transition_storage_class`, {
    description: 'Storage class objects move to.',
    default: 'GLACIER_IR',
    allowed: TRANSITION_STORAGE_CLASSES,
  });
  const expirationDays = numberVariable(stack, `${prefix}_expiration_days`, {
    description: 'Days after which objects are deleted (must exceed the transition days).',
    default: defaults.expirationDays,
    min: 31,
    max: 36_500,
    unit: 'days',
  });
  const noncurrent = numberVariable(stack, `${prefix}_noncurrent_expiration_days`, {
    description: 'Days old versions are kept after being overwritten or deleted.',
    default: 30,
    min: 1,
    max: 3650,
    unit: 'days',
  });
  const abort = numberVariable(stack, `${prefix}_abort_incomplete_upload_days`, {
    description: 'Days before incomplete multipart uploads are removed.',
    default: 7,
    min: 1,
    max: 365,
    unit: 'days',
  });
  return {
    transitionDays: transitionDays.numberValue,
    transitionStorageClass: storageClass.stringValue,
    expirationDays: expirationDays.numberValue,
    noncurrentExpirationDays: noncurrent.numberValue,
    abortIncompleteUploadDays: abort.numberValue,
  };
}

export interface SecureBucketProps {
  /** Bucket name suffix after the label id, e.g. "archive". */
  readonly suffix: string;
  /** ARN of the KMS key for SSE-KMS (its policy must let the writers use it). */
  readonly kmsKeyArn: string;
  readonly lifecycle: BucketLifecycle;
  readonly deletionProtection: boolean | IResolvable;
  /** Terraform bool expression: create the bucket only when true (e.g. no existing bucket given). */
  readonly createWhen?: string;
}

export class SecureBucket {
  readonly bucket: S3Bucket;
  /** Versioning must be on before objects that need a version id are written. */
  readonly versioning: S3BucketVersioningA;
  /** The bucket name and ARN (of the single instance when the bucket is optional). */
  readonly name: string;
  readonly arn: string;

  constructor(stack: PipelineStack, id: string, props: SecureBucketProps) {
    const count = props.createWhen === undefined ? undefined : countWhen(props.createWhen);
    this.bucket = new S3Bucket(stack, id, {
      count,
      bucket: stack.resourceName(props.suffix),
      // Never empty a bucket on destroy: a non-empty bucket refuses deletion.
      forceDestroy: false,
    });
    skipCheck(this.bucket, 'CKV2_AWS_62', 'nothing consumes object events: objects are read in batches or by hand');
    skipCheck(
      this.bucket,
      'CKV_AWS_144',
      'single-region pipeline; cross-region disaster recovery is an account-level decision, and the data can be replayed or rebuilt',
    );
    const attr = (attribute: string) =>
      count === undefined ? expr(ref(this.bucket, attribute)) : first(this.bucket, attribute);
    this.name = attr('bucket');
    this.arn = attr('arn');
    const bucketId = attr('id');

    new S3BucketOwnershipControls(stack, `${id}_ownership`, {
      count,
      bucket: bucketId,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    new S3BucketPublicAccessBlock(stack, `${id}_public_access_block`, {
      count,
      bucket: bucketId,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    this.versioning = new S3BucketVersioningA(stack, `${id}_versioning`, {
      count,
      bucket: bucketId,
      versioningConfiguration: { status: 'Enabled' },
    });
    new S3BucketServerSideEncryptionConfigurationA(stack, `${id}_encryption`, {
      count,
      bucket: bucketId,
      rule: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: props.kmsKeyArn },
          bucketKeyEnabled: true,
        },
      ],
    });
    new S3BucketPolicy(stack, `${id}_policy`, {
      count,
      bucket: bucketId,
      policy: policyDocument(stack, `${id}_policy_document`, [denyInsecureTransport('s3', [this.arn, `${this.arn}/*`])])
        .json,
    });
    new S3BucketLifecycleConfiguration(stack, `${id}_lifecycle`, {
      count,
      bucket: bucketId,
      rule: [
        {
          id: 'archive-then-expire',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          transition: [{ days: props.lifecycle.transitionDays, storageClass: props.lifecycle.transitionStorageClass }],
          expiration: [{ days: props.lifecycle.expirationDays }],
          noncurrentVersionExpiration: [{ noncurrentDays: props.lifecycle.noncurrentExpirationDays }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: props.lifecycle.abortIncompleteUploadDays }],
        },
      ],
    });
    // Declared here: each component has at most one hardened bucket.
    const accessLogBucket = stringVariable(stack, 'access_log_bucket_name', {
      description: `Bucket that receives S3 server access logs of the ${props.suffix} bucket; null = no access logging (set it in production).`,
      default: null,
      pattern: BUCKET_NAME,
    });
    const logging = `${accessLogBucket.fqn} != null`;
    // Logging is a separate resource behind a count, which only the plans resolve.
    skipCheck(
      this.bucket,
      'CKV_AWS_18',
      "server access logging is on when access_log_bucket_name names the account's log bucket (default null: that bucket is created and owned outside this component; set it per stack)",
      { planOnly: true },
    );
    new S3BucketLoggingA(stack, `${id}_logging`, {
      count: countWhen(props.createWhen === undefined ? logging : `${props.createWhen} && ${logging}`),
      bucket: bucketId,
      targetBucket: accessLogBucket.stringValue,
      targetPrefix: `${stack.resourceName(props.suffix)}/`,
    });
    deletionGuard(stack, `${id}_deletion_guard`, {
      count,
      protectedId: this.arn,
      what: `S3 bucket ${this.name}`,
      enabled: props.deletionProtection,
    });
  }
}
