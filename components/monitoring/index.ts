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
import { ENRICHMENT_METRICS } from '../lambda-enrichment/contract';
import { customerKey } from '../shared/kms';
import { RESOURCE_NAME } from '../shared/patterns';
import { PipelineStack } from '../shared/pipeline-stack';
import { REQUIRED, stringListVariable, stringVariable, varRef } from '../shared/variables';

/** A CloudWatch dashboard metric: [namespace, name, dimension, value, ..., options]. */
type Metric = (string | Record<string, unknown>)[];

function widget(
  title: string,
  metrics: Metric[] | unknown,
  x: number,
  y: number,
  options: Record<string, unknown> = {},
) {
  return {
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, metrics, view: 'timeSeries', stacked: false, period: 60, ...options },
  };
}

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

    const n = (v: { stringValue: string }) => v.stringValue;
    const flinkInput = Fn.replace(n(names.ingest), '-', '_');
    const region = this.region;
    // The consumer-lag widget: fixed lines plus one per registered EFO consumer, expanded by
    // Terraform from efo_consumer_names (plain references: the expression has object literals).
    const consumerLagFixed = new TerraformLocal(this, 'consumer_lag_metrics', [
      [
        'AWS/Kinesis',
        'GetRecords.IteratorAgeMilliseconds',
        'StreamName',
        n(names.ingest),
        { stat: 'Maximum', label: 'ingest polling readers' },
      ],
      [
        'AWS/Kinesis',
        'GetRecords.IteratorAgeMilliseconds',
        'StreamName',
        n(names.output),
        { stat: 'Maximum', label: 'output polling readers' },
      ],
      [
        'AWS/Lambda',
        'IteratorAge',
        'FunctionName',
        n(names.enrichment),
        { stat: 'Maximum', label: 'enrichment iterator age' },
      ],
      [
        'AWS/KinesisAnalytics',
        'millisBehindLatest',
        'Application',
        n(names.flink),
        'Flow',
        'Input',
        'Id',
        flinkInput,
        { stat: 'Maximum', label: 'Flink millisBehindLatest' },
      ],
    ]);
    const efoLag = new TerraformLocal(
      this,
      'efo_lag_metrics',
      `\${[for c in ${varRef(consumers)} : ["AWS/Kinesis", "SubscribeToShardEvent.MillisBehindLatest", "StreamName", ${varRef(names.ingest)}, "ConsumerName", c, { stat = "Maximum", label = format("EFO %s", c) }]]}`,
    );
    const widgets = [
      widget(
        'Stream throughput (records/s)',
        [
          [
            'AWS/Kinesis',
            'IncomingRecords',
            'StreamName',
            n(names.ingest),
            { stat: 'Sum', label: 'ingest in', id: 'ingestIn', visible: false },
          ],
          [
            'AWS/Kinesis',
            'IncomingRecords',
            'StreamName',
            n(names.output),
            { stat: 'Sum', label: 'output in', id: 'outputIn', visible: false },
          ],
          [{ expression: 'ingestIn / PERIOD(ingestIn)', label: 'ingest records/s', id: 'ingestRate' }],
          [{ expression: 'outputIn / PERIOD(outputIn)', label: 'output records/s', id: 'outputRate' }],
        ],
        0,
        0,
        { region },
      ),
      widget(
        'Processing latency p99',
        [
          [
            'AWS/Lambda',
            'Duration',
            'FunctionName',
            n(names.enrichment),
            { stat: 'p99', label: 'enrichment duration p99 (ms)' },
          ],
          [
            'AWS/KinesisAnalytics',
            'millisBehindLatest',
            'Application',
            n(names.flink),
            'Flow',
            'Input',
            'Id',
            flinkInput,
            { stat: 'Maximum', label: 'Flink lag (ms)', yAxis: 'right' },
          ],
        ],
        12,
        0,
        { region },
      ),
      widget(
        'Batch processing time',
        [
          [
            'AWS/Lambda',
            'Duration',
            'FunctionName',
            n(names.enrichment),
            { stat: 'Average', label: 'enrichment batch avg (ms)' },
          ],
          [
            'AWS/Lambda',
            'Duration',
            'FunctionName',
            n(names.enrichment),
            { stat: 'Maximum', label: 'enrichment batch max (ms)' },
          ],
          [
            'AWS/KinesisAnalytics',
            'lastCheckpointDuration',
            'Application',
            n(names.flink),
            { stat: 'Maximum', label: 'Flink checkpoint (ms)' },
          ],
        ],
        0,
        6,
        { region },
      ),
      widget(
        'Error count',
        [
          ['AWS/Lambda', 'Errors', 'FunctionName', n(names.enrichment), { stat: 'Sum', label: 'enrichment errors' }],
          [
            'AWS/Lambda',
            'Throttles',
            'FunctionName',
            n(names.enrichment),
            { stat: 'Sum', label: 'enrichment throttles' },
          ],
          // Partial batch failures: invisible in Errors, counted by the handler itself (EMF).
          [
            ENRICHMENT_METRICS.namespace,
            ENRICHMENT_METRICS.failedRecords,
            ENRICHMENT_METRICS.serviceDimension,
            n(names.enrichment),
            { stat: 'Sum', label: 'enrichment failed records' },
          ],
          [
            'AWS/KinesisAnalytics',
            'numberOfFailedCheckpoints',
            'Application',
            n(names.flink),
            { stat: 'Maximum', label: 'Flink failed checkpoints' },
          ],
          [
            'AWS/KinesisAnalytics',
            'downtime',
            'Application',
            n(names.flink),
            { stat: 'Maximum', label: 'Flink downtime (ms)' },
          ],
          [
            'AWS/Kinesis',
            'WriteProvisionedThroughputExceeded',
            'StreamName',
            n(names.ingest),
            { stat: 'Sum', label: 'ingest write throttles' },
          ],
        ],
        12,
        6,
        { region },
      ),
      widget('Consumer lag (ms)', Fn.concat([consumerLagFixed.asList, efoLag.asList]), 0, 12, { region }),
      widget(
        'DLQ depth and delivery freshness',
        [
          [
            'AWS/SQS',
            'ApproximateNumberOfMessagesVisible',
            'QueueName',
            n(names.dlq),
            { stat: 'Maximum', label: 'DLQ messages' },
          ],
          [
            'AWS/SQS',
            'ApproximateNumberOfMessagesVisible',
            'QueueName',
            n(names.failures),
            { stat: 'Maximum', label: 'on-failure messages (replay)' },
          ],
          [
            'AWS/Firehose',
            'DeliveryToS3.DataFreshness',
            'DeliveryStreamName',
            n(names.archive),
            { stat: 'Maximum', label: 'S3 archive freshness (s)', yAxis: 'right' },
          ],
          [
            'AWS/Firehose',
            'DeliveryToAmazonOpenSearchService.DataFreshness',
            'DeliveryStreamName',
            n(names.search),
            { stat: 'Maximum', label: 'OpenSearch freshness (s)', yAxis: 'right' },
          ],
        ],
        12,
        12,
        { region },
      ),
    ];
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
