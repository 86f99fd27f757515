/**
 * firehose-opensearch: delivers the output stream (enriched events and aggregates) into the
 * OpenSearch domain as daily indices events-YYYY-MM-DD (the blueprint's `events-*`), with
 * failed documents only backed up to a hardened S3 bucket.
 *
 * Under fine-grained access control the delivery role also needs a role mapping inside the
 * domain; `atmos opensearch-setup -s <stack>` (scripts/opensearch-setup.ts) applies it together
 * with the events-* index template (events-index-template.json) and its default ingest pipeline
 * (events-ingest-pipelines.json) after apply.
 *
 * Idempotent documents: every hop before OpenSearch delivers at least once, so the document
 * identity comes from the record, not from the delivery. The default pipeline sets _id = event_id
 * (events) or aggregate_id with an external_gte _version = version (aggregates: the newest count
 * wins whatever the arrival order), and puts each document into the daily index of its own
 * timestamp, so a copy redelivered after midnight UTC overwrites the first one instead of landing
 * in the next day's index.
 */
import { KinesisFirehoseDeliveryStream } from '@cdktf/provider-aws/lib/kinesis-firehose-delivery-stream';
import { Token } from 'cdktf';
import type { Construct } from 'constructs';
import { deliveryKey, firehoseLogging, freshnessAlarm } from '../shared/firehose';
import { dynamicWhen, expr } from '../shared/expressions';
import { serviceRole } from '../shared/iam';
import { FIREHOSE } from '../shared/metrics';
import { SECURITY_GROUP_ID, SUBNET_ID } from '../shared/patterns';
import { PipelineStack } from '../shared/pipeline-stack';
import { sourceStream } from '../shared/streams';
import { bucketLifecycleVariables, SecureBucket } from '../shared/secure-bucket';
import { numberVariable, REQUIRED, stringListVariable, stringVariable, varRef } from '../shared/variables';
import { deliveryRolePolicy } from './iam';

/** The index Firehose writes; with daily rotation documents land in events-YYYY-MM-DD. */
export const INDEX_NAME = 'events';
export const FAILED_PREFIX = 'failed/';
export const ERROR_PREFIX = 'errors/';
/**
 * Firehose's document id option. NO_DOCUMENT_ID: Firehose puts no _id in the bulk actions, so the
 * id the events-idempotent pipeline sets is the only one there is. FIREHOSE_DEFAULT would send a
 * Firehose-internal id that is stable only across Firehose's own retries (never across a
 * redelivery upstream); the pipeline overrides it anyway (measured on OpenSearch 2.19), so sending
 * it buys nothing and puts a misleading esDocumentId into the failed-documents backup.
 */
export const DOCUMENT_ID_FORMAT = 'NO_DOCUMENT_ID';

export class FirehoseOpensearchStack extends PipelineStack {
  constructor(scope: Construct, id = 'firehose-opensearch') {
    super(scope, id, { defaultName: 'search-delivery' });
    const source = sourceStream(this, 'kinesis-output output stream_name');

    const domainName = stringVariable(this, 'domain_name', {
      description: 'OpenSearch domain to deliver to (opensearch output domain_name).',
      default: REQUIRED,
      pattern: {
        regex: '[a-z][a-z0-9-]{2,27}',
        hint: 'an OpenSearch domain name (3-28 lowercase letters, digits, "-")',
      },
    });
    const rotation = stringVariable(this, 'index_rotation_period', {
      // Only OneDay: the events-idempotent pipeline moves every document into events-YYYY-MM-DD of
      // its own timestamp (deterministic, so a redelivery finds its first copy); another rotation
      // would only rename the bulk target and then be overridden. NoRotation writes to `events`,
      // outside the events-* template and the writer role's index pattern.
      description:
        "Index rotation of the bulk requests: OneDay (events-YYYY-MM-DD, the blueprint's events-*). The default pipeline then files each document under the day of its own timestamp.",
      default: 'OneDay',
      allowed: ['OneDay'],
    });
    const retry = numberVariable(this, 'retry_duration_seconds', {
      // A stale aggregate's 409 (an older count after a newer one) is retried this long too, then
      // backed up: expected, not data loss (README, firehose-opensearch).
      description: 'How long Firehose retries a failed index request before backing the documents up to S3.',
      default: 300,
      min: 0,
      max: 7200,
      unit: 'seconds',
    });
    const bufferSize = numberVariable(this, 'buffering_size_mb', {
      description: 'Buffer size before a bulk request, in MB.',
      default: 5,
      min: 1,
      max: 100,
      unit: 'MB',
    });
    const bufferInterval = numberVariable(this, 'buffering_interval_seconds', {
      description: 'Longest buffering time before a bulk request, in seconds (the freshness of search results).',
      default: 60,
      min: 0,
      max: 900,
      unit: 'seconds',
    });
    const subnets = stringListVariable(this, 'vpc_subnet_ids', {
      description: 'Deliver through these VPC subnets (for a VPC domain); [] = public endpoint.',
      default: [],
      pattern: SUBNET_ID,
      maxItems: 16,
    });
    const securityGroups = stringListVariable(this, 'vpc_security_group_ids', {
      description: 'Security groups of the delivery ENIs (allowed by the domain on 443). Required with vpc_subnet_ids.',
      default: [],
      pattern: SECURITY_GROUP_ID,
      maxItems: 5,
    });
    const lifecycle = bucketLifecycleVariables(this, 'backup', { transitionDays: 30, expirationDays: 90 });
    const logging = firehoseLogging(this);
    const domainArn = this.arn('es', `domain/${domainName.stringValue}`);

    const role = serviceRole(this, 'role', {
      suffix: 'search-delivery',
      servicePrincipal: 'firehose.amazonaws.com',
      description: 'Firehose: read the output stream, index into OpenSearch, back up failed documents',
    });
    const key = deliveryKey(this, 'backup_key', {
      role,
      suffix: 'search-backup',
      description: 'Encrypts documents OpenSearch rejected',
    });
    const bucket = new SecureBucket(this, 'backup', {
      suffix: 'failed',
      kmsKeyArn: key.arn,
      lifecycle,
      deletionProtection: this.deletionProtection,
    });
    const inVpc = `length(${varRef(subnets)}) > 0`;
    deliveryRolePolicy(this, role, {
      source,
      domainArn,
      bucket,
      key,
      prefixes: [FAILED_PREFIX, ERROR_PREFIX],
      logging,
      inVpc,
    });

    const delivery = new KinesisFirehoseDeliveryStream(this, 'delivery', {
      name: this.resourceName(),
      destination: 'opensearch',
      kinesisSourceConfiguration: { kinesisStreamArn: source.arn, roleArn: role.arn },
      opensearchConfiguration: {
        domainArn,
        roleArn: role.arn,
        indexName: INDEX_NAME,
        indexRotationPeriod: rotation.stringValue,
        retryDuration: retry.numberValue,
        bufferingSize: bufferSize.numberValue,
        bufferingInterval: bufferInterval.numberValue,
        documentIdOptions: { defaultDocumentIdFormat: DOCUMENT_ID_FORMAT },
        s3BackupMode: 'FailedDocumentsOnly',
        s3Configuration: {
          roleArn: role.arn,
          bucketArn: bucket.arn,
          prefix: FAILED_PREFIX,
          errorOutputPrefix: `${ERROR_PREFIX}!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/`,
          compressionFormat: 'GZIP',
          kmsKeyArn: key.arn,
          cloudwatchLoggingOptions: logging.options,
        },
        cloudwatchLoggingOptions: logging.options,
      },
      lifecycle: {
        precondition: [
          {
            condition: Token.asAny(`\${${inVpc} ? length(${varRef(securityGroups)}) > 0 : true}`),
            errorMessage: 'Invalid combination: vpc_subnet_ids needs at least one vpc_security_group_ids entry.',
          },
        ],
      },
    });
    // VPC delivery only when subnets are given: a dynamic block, so one synth serves both.
    delivery.addOverride('opensearch_configuration.dynamic.vpc_config', {
      for_each: dynamicWhen(inVpc),
      content: {
        subnet_ids: expr(varRef(subnets)),
        security_group_ids: expr(varRef(securityGroups)),
        role_arn: role.arn,
      },
    });

    freshnessAlarm(this, delivery.name, FIREHOSE.openSearchFreshness, 900);

    this.output('delivery_stream_name', delivery.name, 'Name of the delivery stream.');
    this.output('delivery_stream_arn', delivery.arn, 'ARN of the delivery stream.');
    this.output(
      'role_arn',
      role.arn,
      'Delivery role: map it to the events writer role inside the domain (atmos opensearch-setup).',
    );
    this.output('backup_bucket_name', bucket.name, 'Bucket holding documents OpenSearch rejected.');
  }
}
