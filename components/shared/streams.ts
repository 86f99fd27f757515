/**
 * The Kinesis streams a component reads or writes, passed in by name: the variables, the exact
 * ARN (a local, so hand-written expressions can use it) and the least-privilege statements.
 * Used by lambda-enrichment, kinesis-analytics and both Firehose components.
 */
import { DataAwsKinesisStreamConsumer } from '@cdktf/provider-aws/lib/data-aws-kinesis-stream-consumer';
import { TerraformLocal, type TerraformVariable } from 'cdktf';
import { countWhen, first } from './expressions';
import type { PolicyStatement } from './iam';
import { KMS_KEY_ARN, RESOURCE_NAME } from './patterns';
import type { PipelineStack } from './pipeline-stack';
import { REQUIRED, stringVariable } from './variables';

export interface StreamAccess {
  /** The `<role>_stream_name` variable. */
  readonly nameVariable: TerraformVariable;
  /** The stream name (a token). */
  readonly name: string;
  /** The local holding the stream ARN, e.g. `local.source_stream_arn`. */
  readonly arnLocal: TerraformLocal;
  /** The stream ARN (a token). */
  readonly arn: string;
  /** What the role needs on the stream (and on its customer key, when one is set). */
  readonly statements: PolicyStatement[];
}

/** The read actions every polling reader needs (Lambda ESM, Firehose, the Flink source). */
export const STREAM_READ_ACTIONS = [
  'kinesis:DescribeStream',
  'kinesis:DescribeStreamSummary',
  'kinesis:GetRecords',
  'kinesis:GetShardIterator',
  'kinesis:ListShards',
];

function streamAccess(
  stack: PipelineStack,
  role: 'source' | 'destination',
  what: string,
  stream: Omit<PolicyStatement, 'resources'>,
  key: Omit<PolicyStatement, 'resources' | 'enabledWhen'>,
): StreamAccess {
  const nameVariable = stringVariable(stack, `${role}_stream_name`, {
    description: `Name of the Kinesis stream to ${role === 'source' ? 'read' : 'write'} (${what}).`,
    default: REQUIRED,
    pattern: RESOURCE_NAME,
  });
  const keyVariable = stringVariable(stack, `${role}_stream_kms_key_arn`, {
    description: `Customer KMS key of the ${role} stream; null = AWS-managed key (no key permission needed).`,
    default: null,
    pattern: KMS_KEY_ARN,
  });
  const arnLocal = new TerraformLocal(
    stack,
    `${role}_stream_arn`,
    stack.arn('kinesis', `stream/${nameVariable.stringValue}`),
  );
  return {
    nameVariable,
    name: nameVariable.stringValue,
    arnLocal,
    arn: arnLocal.asString,
    statements: [
      { ...stream, resources: [arnLocal.asString] },
      { ...key, resources: [keyVariable.stringValue], enabledWhen: `${keyVariable.fqn} != null` },
    ],
  };
}

/** Declares `source_stream_name` and `source_stream_kms_key_arn`: read access. */
export function sourceStream(stack: PipelineStack, what: string): StreamAccess {
  return streamAccess(
    stack,
    'source',
    what,
    { sid: 'ReadSourceStream', actions: STREAM_READ_ACTIONS },
    { sid: 'DecryptSourceStream', actions: ['kms:Decrypt'] },
  );
}

/** Declares `destination_stream_name` and `destination_stream_kms_key_arn`: write access. */
export function destinationStream(
  stack: PipelineStack,
  what: string,
  actions: string[] = ['kinesis:PutRecords'],
): StreamAccess {
  return streamAccess(
    stack,
    'destination',
    what,
    { sid: 'WriteDestinationStream', actions },
    { sid: 'EncryptDestinationStream', actions: ['kms:GenerateDataKey'] },
  );
}

/**
 * A registered enhanced fan-out consumer of `source`, looked up by name when `enabledWhen`
 * holds (its ARN carries a creation timestamp, so it cannot be built from the name), and the
 * statement that lets the role read through it.
 */
export function efoConsumer(
  stack: PipelineStack,
  source: StreamAccess,
  name: TerraformVariable,
  enabledWhen: string,
): { consumer: DataAwsKinesisStreamConsumer; statement: PolicyStatement } {
  const consumer = new DataAwsKinesisStreamConsumer(stack, 'efo_consumer', {
    count: countWhen(enabledWhen),
    name: name.stringValue,
    streamArn: source.arn,
  });
  return {
    consumer,
    statement: {
      sid: 'ReadThroughEfoConsumer',
      actions: ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'],
      resources: [first(consumer, 'arn')],
      enabledWhen,
    },
  };
}
