/**
 * kinesis-analytics' artifact store: the job jar in a hardened bucket, encrypted with a key the
 * application role may use only through S3.
 *
 * Order matters to AWS: role → key (its policy names the role) → bucket → jar; the role's own
 * policy (iam.ts) names bucket and key, so it comes last.
 */
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import type { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { S3Object } from '@cdktf/provider-aws/lib/s3-object';
import { expr, modulePath, template } from '../shared/expressions';
import { customerKey, viaService } from '../shared/kms';
import type { PipelineStack } from '../shared/pipeline-stack';
import { type BucketLifecycle, SecureBucket } from '../shared/secure-bucket';

/** The jar `npm run build:flink` writes next to main.tf.json. */
export const FLINK_ARTIFACT = 'dist/flink-aggregator.jar';
/** Where the jar lives in the artifact bucket; the role may read this object only. */
export const JAR_KEY = 'flink/flink-aggregator.jar';

export interface FlinkArtifacts {
  readonly key: KmsKey;
  readonly bucket: SecureBucket;
  readonly jar: S3Object;
}

/** `aws_kms_key.artifact_key`, the `artifacts` bucket and `aws_s3_object.jar`. */
export function flinkArtifacts(stack: PipelineStack, role: IamRole, lifecycle: BucketLifecycle): FlinkArtifacts {
  const key = customerKey(stack, 'artifact_key', {
    suffix: 'artifacts',
    description: 'Encrypts the Flink application artifacts',
    users: [
      {
        sid: 'ApplicationReadsJarThroughS3',
        actions: ['kms:Decrypt'],
        resources: ['*'],
        wildcardResourceReason: 'in a key policy "*" means this key',
        principals: [{ type: 'AWS', identifiers: [role.arn] }],
        conditions: viaService(stack, 's3'),
      },
    ],
  });
  const bucket = new SecureBucket(stack, 'artifacts', {
    suffix: 'artifacts',
    kmsKeyArn: key.arn,
    lifecycle,
    deletionProtection: stack.deletionProtection,
  });
  const artifact = modulePath(FLINK_ARTIFACT);
  const jar = new S3Object(stack, 'jar', {
    bucket: bucket.name,
    key: JAR_KEY,
    source: artifact,
    // Written out: Fn.filemd5 would escape the path.module interpolation.
    sourceHash: expr(`filemd5(${template(artifact)})`),
    serverSideEncryption: 'aws:kms',
    kmsKeyId: key.arn,
    dependsOn: [bucket.versioning],
  });
  return { key, bucket, jar };
}
