/**
 * firehose-s3, firehose-opensearch and opensearch as synthesized: destinations, prefixes,
 * buffering, hardened buckets, exact IAM, alarms with the dimensions CloudWatch publishes.
 */
import { describe, expect, it } from 'vitest';
import { expandDynamic, localsConditional } from '../support/dynamic-blocks';
import { policyDocument } from '../support/iam-policy';
import { alarmsOf, readComponent, resourcesOf, type TerraformJson } from '../support/synth';
import { validationOf } from '../support/validations';

const sid = (tf: TerraformJson, doc: string, name: string) => policyDocument(tf, doc).bySid(name);
/** The message of `name`'s range (or enum) rule, found by its start: "<name>: must be …". */
const message = (tf: TerraformJson, name: string) => validationOf(tf, name, `${name}: must be`).error_message;
/** The source stream: an exact ARN built from its name, held in a local. */
const streamArn = (tf: TerraformJson) => {
  expect(tf.locals!.source_stream_arn).toBe(
    'arn:${data.aws_partition.partition.partition}:kinesis:${var.region}:${data.aws_caller_identity.caller.account_id}:stream/${var.source_stream_name}',
  );
  return '${local.source_stream_arn}';
};

/** Every hardened-bucket piece exists for `bucket` with the same count. */
function expectHardenedBucket(tf: TerraformJson, bucket: string, ref: string) {
  expect(resourcesOf(tf, 'aws_s3_bucket')[bucket]!.force_destroy).toBe(false);
  expect(resourcesOf(tf, 'aws_s3_bucket_public_access_block')[`${bucket}_public_access_block`]).toMatchObject({
    bucket: `\${${ref}.id}`,
    block_public_acls: true,
    block_public_policy: true,
    ignore_public_acls: true,
    restrict_public_buckets: true,
  });
  expect(resourcesOf(tf, 'aws_s3_bucket_versioning')[`${bucket}_versioning`]!.versioning_configuration).toEqual({
    status: 'Enabled',
  });
  const sse = resourcesOf(tf, 'aws_s3_bucket_server_side_encryption_configuration')[`${bucket}_encryption`]!;
  expect(
    (
      sse.rule as { bucket_key_enabled: boolean; apply_server_side_encryption_by_default: { sse_algorithm: string } }[]
    )[0],
  ).toMatchObject({
    bucket_key_enabled: true,
    apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms' },
  });
  expect(resourcesOf(tf, 'aws_s3_bucket_ownership_controls')[`${bucket}_ownership`]!.rule).toEqual({
    object_ownership: 'BucketOwnerEnforced',
  });
  const lifecycle = resourcesOf(tf, 'aws_s3_bucket_lifecycle_configuration')[`${bucket}_lifecycle`]!.rule as Record<
    string,
    unknown
  >[];
  expect(Object.keys(lifecycle[0]!)).toEqual(
    expect.arrayContaining([
      'transition',
      'expiration',
      'noncurrent_version_expiration',
      'abort_incomplete_multipart_upload',
    ]),
  );
  expect(sid(tf, `${bucket}_policy_document`, 'DenyInsecureTransport')).toMatchObject({
    actions: ['s3:*'],
    resources: [`\${${ref}.arn}`, `\${${ref}.arn}/*`],
  });
  expect(resourcesOf(tf, 'terraform_data')[`${bucket}_deletion_guard`]!.input).toMatchObject({
    protected: '${var.deletion_protection}',
  });
}

describe('firehose-s3', () => {
  const tf = readComponent('firehose-s3');
  const delivery = resourcesOf(tf, 'aws_kinesis_firehose_delivery_stream').delivery!;
  const s3 = delivery.extended_s3_configuration as Record<string, unknown>;

  it('reads the ingest stream and writes GZIP objects partitioned by event hour', () => {
    expect(delivery.destination).toBe('extended_s3');
    expect(delivery.kinesis_source_configuration).toEqual({
      kinesis_stream_arn: streamArn(tf),
      role_arn: '${aws_iam_role.role.arn}',
    });
    expect(s3.compression_format).toBe('GZIP');
    expect(s3.prefix).toBe(
      '${var.dynamic_partitioning_enabled ? "raw/year=!{partitionKeyFromQuery:year}/month=!{partitionKeyFromQuery:month}/day=!{partitionKeyFromQuery:day}/hour=!{partitionKeyFromQuery:hour}/" : "raw/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"}',
    );
    expect(s3.error_output_prefix).toMatch(/^errors\/!\{firehose:error-output-type\}\//);
    expect(s3.buffering_size).toBe('${var.buffering_size_mb}');
    expect(s3.buffering_interval).toBe('${var.buffering_interval_seconds}');
  });

  it('extracts partition keys only with dynamic partitioning, and ends every record with a newline either way', () => {
    const processors = (dynamic_partitioning_enabled: boolean) =>
      expandDynamic(
        s3.processing_configuration as Record<string, unknown>,
        localsConditional(tf, { dynamic_partitioning_enabled }),
      );
    const newline = {
      type: 'AppendDelimiterToRecord',
      parameters: [{ parameter_name: 'Delimiter', parameter_value: '\\n' }],
    };
    expect(processors(true)).toEqual({
      enabled: true,
      processors: [
        {
          type: 'MetadataExtraction',
          parameters: [
            { parameter_name: 'JsonParsingEngine', parameter_value: 'JQ-1.6' },
            {
              parameter_name: 'MetadataExtractionQuery',
              parameter_value:
                '{year: .timestamp[0:4], month: .timestamp[5:7], day: .timestamp[8:10], hour: .timestamp[11:13]}',
            },
          ],
        },
        newline,
      ],
    });
    expect(processors(false)).toEqual({ enabled: true, processors: [newline] });
  });

  it('validates buffering ranges, and the larger minimum dynamic partitioning needs', () => {
    expect(message(tf, 'buffering_size_mb')).toBe(
      'buffering_size_mb: must be a whole number from 1 to 128 MB (got ${jsonencode(var.buffering_size_mb)})',
    );
    expect(message(tf, 'buffering_interval_seconds')).toBe(
      'buffering_interval_seconds: must be a whole number from 0 to 900 seconds (got ${jsonencode(var.buffering_interval_seconds)})',
    );
    const pre = (delivery.lifecycle as { precondition: { condition: string; error_message: string }[] })
      .precondition[0]!;
    expect(pre.condition).toBe('${!var.dynamic_partitioning_enabled || var.buffering_size_mb >= 64}');
    expect(pre.error_message).toBe('buffering_size_mb: must be at least 64 when dynamic_partitioning_enabled is true');
  });

  it('creates a hardened, KMS-encrypted archive bucket unless one is given', () => {
    expectHardenedBucket(tf, 'archive', 'aws_s3_bucket.archive[0]');
    expect(resourcesOf(tf, 'aws_s3_bucket').archive!.count).toBe('${var.archive_bucket_name == null ? 1 : 0}');
    expect(resourcesOf(tf, 'aws_kms_key').archive_key).toMatchObject({ enable_key_rotation: true });
  });

  it('grants the delivery role exact actions on exact resources', () => {
    const doc = 'role_permissions';
    expect(sid(tf, doc, 'ReadSourceStream')!.resources).toEqual([streamArn(tf)]);
    expect(sid(tf, doc, 'ArchiveBucket')).toMatchObject({
      actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
      resources: ['${local.archive_bucket_arn}'],
    });
    expect(sid(tf, doc, 'ArchiveObjects')).toMatchObject({
      actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      resources: ['${local.archive_bucket_arn}/raw/*', '${local.archive_bucket_arn}/errors/*'],
    });
    expect(sid(tf, doc, 'EncryptArchive')!.resources).toEqual(['${local.archive_key_arn}']);
    expect(sid(tf, doc, 'DecryptSourceStream')).toMatchObject({
      actions: ['kms:Decrypt'],
      resources: ['${var.source_stream_kms_key_arn}'],
    });
    expect(sid(tf, doc, 'WriteDeliveryErrors')!.resources).toEqual([
      '${aws_cloudwatch_log_group.log_group.arn}:log-stream:${aws_cloudwatch_log_stream.log_stream.name}',
    ]);
  });

  it('alarms on data freshness with the delivery stream name as dimension', () => {
    expect(alarmsOf(tf).freshness_alarm).toMatchObject({
      namespace: 'AWS/Firehose',
      metric_name: 'DeliveryToS3.DataFreshness',
      dimensions: { DeliveryStreamName: '${aws_kinesis_firehose_delivery_stream.delivery.name}' },
      threshold: '${var.freshness_alarm_threshold_seconds}',
    });
  });
});

describe('firehose-opensearch', () => {
  const tf = readComponent('firehose-opensearch');
  const delivery = resourcesOf(tf, 'aws_kinesis_firehose_delivery_stream').delivery!;
  const os = delivery.opensearch_configuration as Record<string, unknown>;
  const domainArn =
    'arn:${data.aws_partition.partition.partition}:es:${var.region}:${data.aws_caller_identity.caller.account_id}:domain/${var.domain_name}';

  it('indexes the output stream into daily events-YYYY-MM-DD indices, backing up failed documents only', () => {
    expect(delivery.kinesis_source_configuration).toMatchObject({ kinesis_stream_arn: streamArn(tf) });
    expect(os).toMatchObject({
      domain_arn: domainArn,
      index_name: 'events',
      index_rotation_period: '${var.index_rotation_period}',
      retry_duration: '${var.retry_duration_seconds}',
      s3_backup_mode: 'FailedDocumentsOnly',
    });
    expect(tf.variable.index_rotation_period!.default).toBe('OneDay');
    expect((os.s3_configuration as Record<string, unknown>).error_output_prefix).toMatch(
      /^errors\/!\{firehose:error-output-type\}\//,
    );
    expect((os.dynamic as { vpc_config: { for_each: string } }).vpc_config.for_each).toBe(
      '${length(var.vpc_subnet_ids) > 0 ? [1] : []}',
    );
  });

  it('sends no document id: the events-idempotent default pipeline sets every _id (event_id, aggregate_id)', () => {
    expect(os.document_id_options).toEqual({ default_document_id_format: 'NO_DOCUMENT_ID' });
    // The pipeline files each document under the day of its own timestamp: any other rotation
    // would only rename the bulk target, so OneDay is the only value.
    expect(tf.variable.index_rotation_period!.validation).toEqual([
      {
        condition: '${contains(["OneDay"], var.index_rotation_period)}',
        error_message: 'index_rotation_period: must be one of OneDay (got ${jsonencode(var.index_rotation_period)})',
      },
    ]);
  });

  it('validates retry and buffering ranges', () => {
    expect(message(tf, 'retry_duration_seconds')).toBe(
      'retry_duration_seconds: must be a whole number from 0 to 7200 seconds (got ${jsonencode(var.retry_duration_seconds)})',
    );
    expect(message(tf, 'buffering_size_mb')).toBe(
      'buffering_size_mb: must be a whole number from 1 to 100 MB (got ${jsonencode(var.buffering_size_mb)})',
    );
    expect(validationOf(tf, 'log_retention_days', 'log_retention_days: must be one of 1, 3, 5,').condition).toBe(
      '${contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)}',
    );
  });

  it('backs up into a hardened bucket and grants exact permissions', () => {
    expectHardenedBucket(tf, 'backup', 'aws_s3_bucket.backup');
    const doc = 'role_permissions';
    expect(sid(tf, doc, 'IndexDocuments')).toMatchObject({
      actions: ['es:ESHttpGet', 'es:ESHttpPost', 'es:ESHttpPut'],
      resources: [domainArn, `${domainArn}/*`],
    });
    expect(sid(tf, doc, 'DescribeDomain')!.resources).toEqual([domainArn]);
    expect(sid(tf, doc, 'BackupObjects')!.resources).toEqual([
      '${aws_s3_bucket.backup.arn}/failed/*',
      '${aws_s3_bucket.backup.arn}/errors/*',
    ]);
    expect(policyDocument(tf, doc).dynamic('VpcDelivery')!.forEach).toBe(
      '${length(var.vpc_subnet_ids) > 0 ? [1] : []}',
    );
  });

  it('alarms on OpenSearch delivery freshness by delivery stream name', () => {
    expect(alarmsOf(tf).freshness_alarm).toMatchObject({
      metric_name: 'DeliveryToAmazonOpenSearchService.DataFreshness',
      dimensions: { DeliveryStreamName: '${aws_kinesis_firehose_delivery_stream.delivery.name}' },
    });
  });
});

describe('opensearch', () => {
  const tf = readComponent('opensearch');
  const domain = resourcesOf(tf, 'aws_opensearch_domain').domain!;

  it('encrypts at rest and node to node, HTTPS with TLS 1.2+, fine-grained access control, gp3', () => {
    expect(domain.encrypt_at_rest).toEqual({ enabled: true, kms_key_id: '${var.kms_key_arn}' });
    expect(domain.node_to_node_encryption).toEqual({ enabled: true });
    expect(domain.domain_endpoint_options).toEqual({
      enforce_https: true,
      tls_security_policy: 'Policy-Min-TLS-1-2-PFS-2023-10',
    });
    expect(domain.advanced_security_options).toEqual({
      enabled: true,
      anonymous_auth_enabled: false,
      internal_user_database_enabled: false,
      master_user_options: { master_user_arn: '${var.admin_role_arn}' },
    });
    expect((domain.ebs_options as Record<string, unknown>).volume_type).toBe('gp3');
    expect(tf.variable.engine_version!.default).toBe('OpenSearch_2.19');
  });

  it('publishes slow and error logs into log groups with finite retention', () => {
    const types = (domain.log_publishing_options as { log_type: string }[]).map((o) => o.log_type).sort();
    expect(types).toEqual(['AUDIT_LOGS', 'ES_APPLICATION_LOGS', 'INDEX_SLOW_LOGS', 'SEARCH_SLOW_LOGS']);
    for (const group of Object.values(resourcesOf(tf, 'aws_cloudwatch_log_group')))
      expect(group.retention_in_days).toBe('${var.log_retention_days}');
  });

  it('admits only the listed roles of this account', () => {
    const s = sid(tf, 'access_policy_document', 'ListedRolesOnly')!;
    expect(s.actions).not.toContain('es:*');
    expect(s.resources).toEqual(['${aws_opensearch_domain.domain.arn}/*']);
    expect(s.condition).toEqual([
      {
        test: 'ArnLike',
        variable: 'aws:PrincipalArn',
        values: '${concat([var.admin_role_arn], var.access_role_arns)}',
      },
    ]);
  });

  it.each([
    ['cluster_red_alarm', 'ClusterStatus.red'],
    ['cluster_yellow_alarm', 'ClusterStatus.yellow'],
    ['free_storage_alarm', 'FreeStorageSpace'],
    ['writes_blocked_alarm', 'ClusterIndexWritesBlocked'],
    ['jvm_pressure_alarm', 'JVMMemoryPressure'],
    ['cpu_alarm', 'CPUUtilization'],
  ])('%s watches %s with DomainName and ClientId', (alarm, metric) => {
    expect(alarmsOf(tf)[alarm]).toMatchObject({
      namespace: 'AWS/ES',
      metric_name: metric,
      dimensions: {
        DomainName: '${aws_opensearch_domain.domain.domain_name}',
        ClientId: '${data.aws_caller_identity.caller.account_id}',
      },
    });
  });
});
