/**
 * monitoring: the SNS topic every component's alarms notify, and one CloudWatch dashboard with
 * the blueprint's widgets (throughput, latency p99, batch processing time, errors, consumer lag)
 * plus the enrichment handler's failed records, DLQ and on-failure queue depth and Firehose
 * freshness.
 *
 * The topic is encrypted with a customer key: CloudWatch cannot publish to a topic encrypted
 * with the AWS-managed alias/aws/sns key (its policy cannot be extended), so alarms would fail
 * silently.
 */
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { Fn, TerraformIterator, TerraformLocal, Token } from 'cdktf';
import type { Construct } from 'constructs';
import { denyInsecureTransport, policyDocument } from '../shared/iam';
import { customerKey } from '../shared/kms';
import { RESOURCE_NAME } from '../shared/patterns';
import { PipelineStack } from '../shared/pipeline-stack';
import { REQUIRED, stringListVariable, stringVariable, varRef } from '../shared/variables';
import { dashboardWidgets } from './dashboard';

export class MonitoringStack extends PipelineStack {
  constructor(scope: Construct, id = 'monitoring') {
    super(scope, id, { defaultName: 'monitoring' });
    const names = {
      ingest: stringVariable(this, 'ingest_stream_name', {
        description: 'kinesis-ingest stream name.',
        default: REQUIRED,
        pattern: RESOURCE_NAME,
      }),
      output: stringVariable(this, 'output_stream_name', {
        description: 'kinesis-output stream name.',
        default: REQUIRED,
        pattern: RESOURCE_NAME,
      }),
      enrichment: stringVariable(this, 'enrichment_function_name', {
        description: 'lambda-enrichment function name.',
        default: REQUIRED,
        pattern: RESOURCE_NAME,
      }),
      dlq: stringVariable(this, 'dlq_name', {
        description: 'lambda-enrichment dead-letter queue name.',
        default: REQUIRED,
        pattern: RESOURCE_NAME,
      }),
      failures: stringVariable(this, 'failures_queue_name', {
        description: "lambda-enrichment on-failure queue name (the event source mapping's given-up batches).",
        default: REQUIRED,
        pattern: RESOURCE_NAME,
      }),
      flink: stringVariable(this, 'flink_application_name', {
        description: 'kinesis-analytics application name.',
        default: REQUIRED,
        pattern: RESOURCE_NAME,
      }),
      archive: stringVariable(this, 'archive_delivery_stream_name', {
        description: 'firehose-s3 delivery stream name.',
        default: REQUIRED,
        pattern: RESOURCE_NAME,
      }),
      search: stringVariable(this, 'search_delivery_stream_name', {
        description: 'firehose-opensearch delivery stream name.',
        default: REQUIRED,
        pattern: RESOURCE_NAME,
      }),
    };
    const consumers = stringListVariable(this, 'efo_consumer_names', {
      description:
        'EFO consumers registered on the ingest stream (kinesis-ingest efo_consumer_names), for the consumer-lag widget.',
      default: [],
      pattern: RESOURCE_NAME,
      maxItems: 20,
    });
    const emails = stringListVariable(this, 'alarm_email_addresses', {
      description: 'Email addresses subscribed to the alarm topic (each must confirm).',
      default: [],
      pattern: { regex: '[^@\\s]+@[^@\\s]+\\.[^@\\s]+', hint: 'an email address' },
      maxItems: 20,
    });
    const webhooks = stringListVariable(this, 'alarm_https_endpoints', {
      description: 'HTTPS endpoints (e.g. a chat or paging webhook) subscribed to the alarm topic.',
      default: [],
      pattern: { regex: 'https://[^\\s]+', hint: 'an https:// URL' },
      maxItems: 20,
    });

    const topicName = this.resourceName('alarms');
    const topicArn = this.arn('sns', topicName);
    const key = customerKey(this, 'topic_key', {
      suffix: 'alarms',
      description: 'Encrypts the alarm topic',
      users: [
        {
          sid: 'CloudWatchPublishesAlarms',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: ['*'],
          wildcardResourceReason: 'in a key policy "*" means this key',
          principals: [{ type: 'Service', identifiers: ['cloudwatch.amazonaws.com'] }],
          conditions: [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [this.accountId] }],
        },
      ],
    });
    const topic = new SnsTopic(this, 'topic', { name: topicName, kmsMasterKeyId: key.arn });
    new SnsTopicPolicy(this, 'topic_policy', {
      arn: topic.arn,
      policy: policyDocument(this, 'topic_policy_document', [
        {
          sid: 'CloudWatchAlarmsPublish',
          actions: ['sns:Publish'],
          resources: [topic.arn],
          principals: [{ type: 'Service', identifiers: ['cloudwatch.amazonaws.com'] }],
          conditions: [
            { test: 'StringEquals', variable: 'aws:SourceAccount', values: [this.accountId] },
            { test: 'ArnLike', variable: 'aws:SourceArn', values: [this.arn('cloudwatch', 'alarm:*')] },
          ],
        },
        denyInsecureTransport('sns', [topic.arn]),
      ]).json,
    });
    const emailIterator = TerraformIterator.fromList(emails.listValue);
    new SnsTopicSubscription(this, 'email', {
      forEach: emailIterator,
      topicArn: topic.arn,
      protocol: 'email',
      endpoint: Token.asString(emailIterator.value),
    });
    const webhookIterator = TerraformIterator.fromList(webhooks.listValue);
    new SnsTopicSubscription(this, 'webhook', {
      forEach: webhookIterator,
      topicArn: topic.arn,
      protocol: 'https',
      endpoint: Token.asString(webhookIterator.value),
    });

    const widgets = dashboardWidgets(this, {
      ingest: names.ingest.stringValue,
      output: names.output.stringValue,
      enrichment: names.enrichment.stringValue,
      dlq: names.dlq.stringValue,
      failures: names.failures.stringValue,
      flink: names.flink.stringValue,
      archive: names.archive.stringValue,
      search: names.search.stringValue,
      ingestRef: varRef(names.ingest),
      consumersRef: varRef(consumers),
    });
    const body = new TerraformLocal(this, 'dashboard_body', Fn.jsonencode({ widgets }));
    new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: this.resourceName('pipeline'),
      dashboardBody: body.asString,
    });

    this.output('alarm_topic_arn', topic.arn, 'SNS topic every alarm notifies (alarm_topic_arn of all components).');
    this.output(
      'alarm_topic_expected_arn',
      topicArn,
      'The topic ARN the stacks wire by naming convention (must equal alarm_topic_arn).',
    );
    this.output('dashboard_name', this.resourceName('pipeline'), 'Name of the CloudWatch dashboard.');
  }
}
