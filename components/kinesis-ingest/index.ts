/**
 * kinesis-ingest: the stream producers write raw events to, with optional registered
 * enhanced fan-out (EFO) consumers for the Lambda and Flink readers.
 *
 * The ingest stream has three readers (Firehose, Lambda, Flink). Polling readers share 2 MB/s and
 * 5 GetRecords calls per second per shard; an EFO consumer gets its own 2 MB/s per shard pushed
 * over HTTP/2, so a slow reader cannot starve the others.
 */
import { KinesisStreamConsumer } from '@cdktf/provider-aws/lib/kinesis-stream-consumer';
import { TerraformIterator, Token } from 'cdktf';
import type { Construct } from 'constructs';
import { metricAlarm } from '../shared/alarms';
import { expr } from '../shared/expressions';
import { KINESIS, metricOf } from '../shared/metrics';
import { EncryptedStream } from '../shared/kinesis-stream';
import { RESOURCE_NAME } from '../shared/patterns';
import { PipelineStack } from '../shared/pipeline-stack';
import { stringListVariable } from '../shared/variables';

export class KinesisIngestStack extends PipelineStack {
  constructor(scope: Construct, id = 'kinesis-ingest') {
    super(scope, id, { defaultName: 'ingest' });
    const ingest = new EncryptedStream(this, 'ingest');

    const consumerNames = stringListVariable(this, 'efo_consumer_names', {
      description:
        'Enhanced fan-out consumers to register on the stream, e.g. ["enrichment", "analytics"]; [] = all readers poll.',
      default: [],
      pattern: RESOURCE_NAME,
      maxItems: 20,
    });
    const consumers = TerraformIterator.fromList(consumerNames.listValue);
    const consumer = new KinesisStreamConsumer(this, 'consumer', {
      forEach: consumers,
      name: Token.asString(consumers.value),
      streamArn: ingest.streamArn,
    });

    const lagIterator = TerraformIterator.fromList(consumerNames.listValue);
    const consumerName = Token.asString(lagIterator.value);
    metricAlarm(this, 'consumer_lag_alarm', {
      suffix: 'consumer-lag',
      alarmName: `${this.resourceName()}-${consumerName}-lag`,
      forEach: lagIterator,
      description:
        'An enhanced fan-out consumer is more than the iterator-age threshold behind (SubscribeToShardEvent.MillisBehindLatest).',
      metric: metricOf(KINESIS.efoLag, { streamName: ingest.streamName, consumerName }),
      threshold: ingest.iteratorAgeThresholdMs,
      comparison: 'GreaterThanThreshold',
    });

    this.output('stream_name', ingest.streamName, 'Name of the ingest stream (producers write here).');
    this.output('stream_arn', ingest.streamArn, 'ARN of the ingest stream.');
    this.output(
      'kms_key_id',
      ingest.stream.kmsKeyId,
      'KMS key that encrypts the stream (readers need kms:Decrypt on it).',
    );
    this.output(
      'consumer_arns',
      expr(`{ for name, c in ${consumer.fqn} : name => c.arn }`),
      'Map of EFO consumer name to consumer ARN.',
    );
  }
}
