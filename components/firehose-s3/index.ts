/**
 * firehose-s3: archives raw events from the ingest stream to S3, GZIP-compressed and
 * Hive-partitioned by event hour (year=/month=/day=/hour=), into a hardened bucket this
 * component creates (or an existing one).
 *
 * With dynamic partitioning (the default) the partition comes from each record's own
 * `timestamp` (JQ), so late events land in the hour they happened; without it, Firehose can
 * only use the arrival time.
 */
import { KinesisFirehoseDeliveryStream } from '@cdktf/provider-aws/lib/kinesis-firehose-delivery-stream';
import { TerraformLocal, Token } from 'cdktf';
import type { Construct } from 'constructs';
import { deliveryKey, firehoseLogging, freshnessAlarm, s3WriteStatements } from '../shared/firehose';
import { cond, countWhen, dynamicValue, expr, exprBool, first, firstRef, ref, template } from '../shared/expressions';
import { rolePolicy, serviceRole } from '../shared/iam';
import { FIREHOSE } from '../shared/metrics';
import { BUCKET_NAME, KMS_KEY_ARN } from '../shared/patterns';
import { PipelineStack } from '../shared/pipeline-stack';
import { bucketLifecycleVariables, SecureBucket } from '../shared/secure-bucket';
import { sourceStream } from '../shared/streams';
import { boolVariable, crossVariableRule, numberVariable, stringVariable } from '../shared/variables';

/** Object key prefixes; the role may write under these only. */
export const RAW_PREFIX = 'raw/';
export const ERROR_PREFIX = 'errors/';

/** The event hour from the record's ISO-8601 UTC `timestamp`, for dynamic partitioning. */
export const PARTITION_QUERY =
  '{year: .timestamp[0:4], month: .timestamp[5:7], day: .timestamp[8:10], hour: .timestamp[11:13]}';

/** Extracts the partition keys (dynamic partitioning only). */
const METADATA_EXTRACTION = {
  type: 'MetadataExtraction',
  parameters: [
    { parameter_name: 'JsonParsingEngine', parameter_value: 'JQ-1.6' },
    { parameter_name: 'MetadataExtractionQuery', parameter_value: PARTITION_QUERY },
  ],
};
/** Ends every record with a newline, so each archived object is JSON Lines. */
const APPEND_NEWLINE = {
  type: 'AppendDelimiterToRecord',
  parameters: [{ parameter_name: 'Delimiter', parameter_value: '\\n' }],
};

export class FirehoseS3Stack extends PipelineStack {
  constructor(scope: Construct, id = 'firehose-s3') {
    super(scope, id, { defaultName: 'archive' });
    const source = sourceStream(this, 'kinesis-ingest output stream_name');

    const existingBucket = stringVariable(this, 'archive_bucket_name', {
      description: 'Existing bucket to archive into; null = create a hardened bucket <label>-raw.',
      default: null,
      pattern: BUCKET_NAME,
    });
    const existingKey = stringVariable(this, 'archive_bucket_kms_key_arn', {
      description: "KMS key of the existing bucket's default encryption, if it is a customer key.",
      default: null,
      pattern: KMS_KEY_ARN,
    });
    const dynamicPartitioning = boolVariable(this, 'dynamic_partitioning_enabled', {
      description:
        "Partition by each record's own timestamp (JQ) instead of arrival time. Needs buffering_size_mb ≥ 64.",
      default: true,
    });
    const bufferSize = numberVariable(this, 'buffering_size_mb', {
      description: 'Buffer size before a delivery, in MB.',
      default: 64,
      min: 1,
      max: 128,
      unit: 'MB',
    });
    const bufferInterval = numberVariable(this, 'buffering_interval_seconds', {
      description: 'Longest buffering time before a delivery, in seconds.',
      default: 300,
      min: 0,
      max: 900,
      unit: 'seconds',
    });
    const bufferRule = crossVariableRule(this, {
      variables: ['dynamic_partitioning_enabled', 'buffering_size_mb'],
      message: 'buffering_size_mb: must be at least 64 when dynamic_partitioning_enabled is true',
      enforcedBy: 'the delivery stream precondition',
      schema: {
        if: {
          not: {
            properties: { dynamic_partitioning_enabled: { const: false } },
            required: ['dynamic_partitioning_enabled'],
          },
        },
        then: { properties: { buffering_size_mb: { minimum: 64 } } },
      },
    });
    const lifecycle = bucketLifecycleVariables(this, 'archive', { transitionDays: 90, expirationDays: 365 });

    const logging = firehoseLogging(this);
    const createBucket = `${existingBucket.fqn} == null`;

    // Order matters to AWS, not to Terraform: the key policy must name an existing role, and the
    // role's permissions name the key and bucket. So: role → key → bucket → role policy.
    const role = serviceRole(this, 'role', {
      suffix: 'archive-delivery',
      servicePrincipal: 'firehose.amazonaws.com',
      description: 'Firehose: read the ingest stream, write the raw archive',
    });
    const key = deliveryKey(this, 'archive_key', {
      role,
      suffix: 'archive',
      description: 'Encrypts the raw event archive',
      count: countWhen(createBucket),
    });
    const bucket = new SecureBucket(this, 'archive', {
      suffix: 'raw',
      kmsKeyArn: first(key, 'arn'),
      lifecycle,
      deletionProtection: this.deletionProtection,
      createWhen: createBucket,
    });
    const bucketArn = new TerraformLocal(
      this,
      'archive_bucket_arn',
      expr(
        cond(
          createBucket,
          firstRef(bucket.bucket, 'arn'),
          template(`arn:${expr(this.partitionExpression)}:s3:::${expr(existingBucket.fqn)}`),
        ),
      ),
    );
    const keyArn = new TerraformLocal(
      this,
      'archive_key_arn',
      expr(cond(createBucket, firstRef(key, 'arn'), existingKey.fqn)),
    );
    rolePolicy(this, 'role', role, [
      ...source.statements,
      ...s3WriteStatements(this, {
        label: 'Archive',
        bucketArn: bucketArn.asString,
        keyArn: keyArn.asString,
        prefixes: [RAW_PREFIX, ERROR_PREFIX],
        keyEnabledWhen: `${keyArn.fqn} != null`,
      }),
      logging.statement,
    ]);

    const dyn = dynamicPartitioning.fqn;
    const hour = (source: string) =>
      ['year', 'month', 'day', 'hour']
        .map((part, i) => `${part}=!{${source}:${i === 0 ? 'yyyy' : ['MM', 'dd', 'HH'][i - 1]}}`)
        .join('/');
    const eventHour = ['year', 'month', 'day', 'hour']
      .map((part) => `${part}=!{partitionKeyFromQuery:${part}}`)
      .join('/');
    const delivery = new KinesisFirehoseDeliveryStream(this, 'delivery', {
      name: this.resourceName(),
      destination: 'extended_s3',
      kinesisSourceConfiguration: { kinesisStreamArn: source.arn, roleArn: role.arn },
      extendedS3Configuration: {
        roleArn: role.arn,
        bucketArn: bucketArn.asString,
        prefix: expr(cond(dyn, template(`${RAW_PREFIX}${eventHour}/`), template(`${RAW_PREFIX}${hour('timestamp')}/`))),
        errorOutputPrefix: `${ERROR_PREFIX}!{firehose:error-output-type}/${hour('timestamp')}/`,
        bufferingSize: bufferSize.numberValue,
        bufferingInterval: bufferInterval.numberValue,
        compressionFormat: 'GZIP',
        kmsKeyArn: keyArn.asString,
        cloudwatchLoggingOptions: logging.options,
        dynamicPartitioningConfiguration: { enabled: exprBool(dyn), retryDuration: 300 },
      },
      lifecycle: {
        precondition: [
          {
            condition: Token.asAny(`\${!${dyn} || ${bufferSize.fqn} >= 64}`),
            errorMessage: bufferRule,
          },
        ],
      },
    });

    // The processors as a dynamic block over one of two ordered lists (locals, so their values stay
    // JSON, the Delimiter the two characters \n as Firehose expects): MetadataExtraction only with
    // dynamic partitioning, which Firehose requires for it; the newline delimiter always, so every
    // archived object is JSON Lines. (CDKTF's iterators would iterate a set and cannot nest.)
    const processorLists = new TerraformLocal(this, 'archive_processors', {
      event_hour: [METADATA_EXTRACTION, APPEND_NEWLINE],
      arrival_time: [APPEND_NEWLINE],
    });
    delivery.addOverride('extended_s3_configuration.processing_configuration', {
      enabled: true,
      dynamic: {
        processors: {
          for_each: expr(cond(dyn, ref(processorLists, 'event_hour'), ref(processorLists, 'arrival_time'))),
          content: {
            type: dynamicValue('processors', 'type'),
            dynamic: {
              parameters: {
                for_each: dynamicValue('processors', 'parameters'),
                content: {
                  parameter_name: dynamicValue('parameters', 'parameter_name'),
                  parameter_value: dynamicValue('parameters', 'parameter_value'),
                },
              },
            },
          },
        },
      },
    });

    freshnessAlarm(this, delivery.name, FIREHOSE.s3Freshness, 900);

    this.output('delivery_stream_name', delivery.name, 'Name of the delivery stream.');
    this.output('delivery_stream_arn', delivery.arn, 'ARN of the delivery stream.');
    this.output('archive_bucket_arn', bucketArn.asString, 'ARN of the archive bucket (created or given).');
    this.output('archive_key_arn', keyArn.asString, 'KMS key encrypting the archive, or null.');
    this.output('role_arn', role.arn, 'ARN of the delivery role.');
  }
}
