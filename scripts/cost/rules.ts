/**
 * The price rule of every resource type the components synthesize: which price-table entries it
 * is billed by, or why it has no charge of its own. The test that walks components/*\/main.tf.json
 * fails for a type without a rule, so a new billable resource cannot slip past the estimate.
 */

export type PriceRule =
  | { readonly billable: true; readonly prices: readonly string[] }
  | { readonly billable: false; readonly why: string };

const free = (why: string): PriceRule => ({ billable: false, why });
const billed = (...prices: string[]): PriceRule => ({ billable: true, prices });

export const RESOURCE_RULES: Readonly<Record<string, PriceRule>> = {
  aws_kinesis_stream: billed(
    'kinesis.on_demand.stream_hour',
    'kinesis.on_demand.data_in_gb',
    'kinesis.on_demand.data_out_gb',
    'kinesis.on_demand.extended_retention_gb_month',
    'kinesis.on_demand.long_term_retention_gb_month',
    'kinesis.provisioned.shard_hour',
    'kinesis.provisioned.put_payload_unit',
    'kinesis.provisioned.extended_retention_shard_hour',
    'kinesis.provisioned.long_term_retention_gb_month',
    'cloudwatch.custom_metric_month',
    'kms.request',
  ),
  aws_kinesis_stream_consumer: billed(
    'kinesis.on_demand.efo_data_out_gb',
    'kinesis.provisioned.efo_consumer_shard_hour',
    'kinesis.provisioned.efo_data_out_gb',
  ),
  aws_kinesisanalyticsv2_application: billed(
    'flink.kpu_hour',
    'flink.running_storage_gb_month',
    'flink.backup_gb_month',
  ),
  aws_lambda_function: billed(
    'lambda.arm64.gb_second',
    'lambda.x86_64.gb_second',
    'lambda.request',
    'cloudwatch.custom_metric_month',
  ),
  aws_lambda_event_source_mapping: free('no charge of its own: the invocations it makes are billed on the function'),
  aws_dynamodb_table: billed(
    'dynamodb.on_demand.read_request_unit',
    'dynamodb.storage_gb_month',
    'dynamodb.pitr_gb_month',
  ),
  aws_dax_cluster: billed(
    'dax.node_hour.dax.t3.small',
    'dax.node_hour.dax.t3.medium',
    'dax.node_hour.dax.r5.large',
    'dax.node_hour.dax.r5.xlarge',
    'dax.node_hour.dax.r5.2xlarge',
    'dax.node_hour.dax.r5.4xlarge',
  ),
  aws_dax_subnet_group: free('configuration'),
  aws_kinesis_firehose_delivery_stream: billed(
    'firehose.ingestion_gb',
    'firehose.dynamic_partitioning_gb',
    'firehose.dynamic_partitioning_object',
    'firehose.jq_processing_hour',
  ),
  aws_opensearch_domain: billed(
    'opensearch.instance_hour.t3.medium.search',
    'opensearch.instance_hour.r7g.large.search',
    'opensearch.instance_hour.m7g.large.search',
    'opensearch.gp3_storage_gb_month',
    'opensearch.gp3_iops_month',
    'opensearch.gp3_throughput_mibps_month',
  ),
  aws_opensearch_domain_policy: free('configuration'),
  aws_s3_bucket: billed(
    's3.standard_gb_month',
    's3.standard_ia_gb_month',
    's3.intelligent_tiering_gb_month',
    's3.glacier_ir_gb_month',
    's3.glacier_gb_month',
    's3.deep_archive_gb_month',
    's3.put_request',
    's3.lifecycle_transition_request',
  ),
  aws_s3_object: billed('s3.standard_gb_month', 's3.put_request'),
  aws_s3_bucket_lifecycle_configuration: free('configuration; the transitions it causes are billed on the bucket'),
  aws_s3_bucket_logging: free(
    'configuration; the log objects land in another bucket (access_log_bucket_name), billed there',
  ),
  aws_s3_bucket_ownership_controls: free('configuration'),
  aws_s3_bucket_policy: free('configuration'),
  aws_s3_bucket_public_access_block: free('configuration'),
  aws_s3_bucket_server_side_encryption_configuration: free('configuration; KMS requests are billed on the key'),
  aws_s3_bucket_versioning: free(
    'configuration; nothing overwrites the delivered objects, so no noncurrent versions accrue',
  ),
  aws_cloudwatch_metric_alarm: billed('cloudwatch.alarm_metric_month'),
  aws_cloudwatch_dashboard: billed('cloudwatch.dashboard_month'),
  aws_cloudwatch_log_group: billed('cloudwatch.logs_ingestion_gb', 'cloudwatch.logs_storage_gb_month'),
  aws_cloudwatch_log_stream: free('container inside a log group; the group bills ingestion and storage'),
  aws_cloudwatch_log_resource_policy: free('configuration'),
  aws_kms_key: billed('kms.key_month', 'kms.request'),
  aws_kms_alias: free('aliases are free'),
  aws_sqs_queue: billed('sqs.request'),
  aws_sqs_queue_policy: free('configuration'),
  aws_sns_topic: billed('sns.publish_request'),
  aws_sns_topic_policy: free('configuration'),
  aws_sns_topic_subscription: billed('sns.email_notification', 'sns.https_notification'),
  aws_timestreamwrite_database: free('the database has no charge; its table is billed for writes and storage'),
  aws_timestreamwrite_table: billed(
    'timestream.write_1kb',
    'timestream.memory_store_gb_hour',
    'timestream.magnetic_store_gb_month',
  ),
  aws_iam_role: free('IAM is free'),
  aws_iam_role_policy: free('IAM is free'),
  aws_security_group: free('security groups are free'),
  aws_vpc_security_group_egress_rule: free('security group rules are free'),
  aws_vpc_security_group_ingress_rule: free('security group rules are free'),
  terraform_data: free('exists only in Terraform state (deletion guard)'),
};

/** Resource types of synthesized components that have no price rule, as "component: type". */
export function unpricedTypes(components: Readonly<Record<string, { resource?: Record<string, unknown> }>>): string[] {
  const out: string[] = [];
  for (const [component, tf] of Object.entries(components)) {
    for (const type of Object.keys(tf.resource ?? {})) if (!RESOURCE_RULES[type]) out.push(`${component}: ${type}`);
  }
  return out.sort();
}
