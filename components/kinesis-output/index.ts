/**
 * kinesis-output: the stream the enrichment Lambda ("event" records) and the Flink job
 * ("aggregate" records) write to, read by firehose-opensearch.
 */
import type { Construct } from 'constructs';
import { EncryptedStream } from '../shared/kinesis-stream';
import { PipelineStack } from '../shared/pipeline-stack';

export class KinesisOutputStack extends PipelineStack {
  constructor(scope: Construct, id = 'kinesis-output') {
    super(scope, id, { defaultName: 'output' });
    const output = new EncryptedStream(this, 'output');
    this.output('stream_name', output.streamName, 'Name of the output stream.');
    this.output('stream_arn', output.streamArn, 'ARN of the output stream.');
    this.output(
      'kms_key_id',
      output.stream.kmsKeyId,
      'KMS key that encrypts the stream (writers need kms:GenerateDataKey on it).',
    );
  }
}
