/**
 * kinesis-analytics' variables, each declared once (components/shared/variables.ts): the job's
 * settings take their defaults, ranges and values from the property declaration (properties.ts),
 * which also writes flink/pipeline-properties.json for the job's own contract test.
 */
import { logRetentionVariable } from '../shared/logs';
import type { PipelineStack } from '../shared/pipeline-stack';
import { bucketLifecycleVariables } from '../shared/secure-bucket';
import { destinationStream, sourceStream } from '../shared/streams';
import { boolVariable, crossVariableRule, numberVariable, stringVariable } from '../shared/variables';
import { booleanDefault, enumValues, integerRange, stringPattern } from './properties';

/** Declares the component's variables in `stack` and returns those the resources use. */
export function analyticsVariables(stack: PipelineStack) {
  const source = sourceStream(stack, 'kinesis-ingest output stream_name');
  // The Flink sink checks the stream before writing (DescribeStreamSummary).
  const destination = destinationStream(stack, 'kinesis-output output stream_name', [
    'kinesis:PutRecords',
    'kinesis:DescribeStreamSummary',
  ]);
  // The job's settings: defaults, ranges and values come from the property declaration
  // (properties.ts), and the property map below reads these variables by name.
  const reader = stringVariable(stack, 'input_reader', {
    description: 'How the job reads the ingest stream: POLLING (shared throughput) or EFO (efo_consumer_name).',
    ...enumValues('input.reader'),
  });
  const efoConsumerName = stringVariable(stack, 'efo_consumer_name', {
    description: 'Registered EFO consumer (kinesis-ingest efo_consumer_names) used when input_reader = EFO.',
    default: null,
    pattern: stringPattern('input.efo.consumer.name'),
  });
  stringVariable(stack, 'initial_position', {
    description: 'Where a job without state starts reading.',
    ...enumValues('input.initial.position'),
  });
  numberVariable(stack, 'window_size_minutes', {
    description: "Tumbling event-time window length, in minutes (the blueprint's 5 by default).",
    ...integerRange('window.size.minutes'),
    unit: 'minutes',
  });
  numberVariable(stack, 'allowed_lateness_seconds', {
    description: 'How late an event may be and still update its window; later ones are counted as late.',
    ...integerRange('window.allowed.lateness.seconds'),
    unit: 'seconds',
  });
  numberVariable(stack, 'out_of_orderness_seconds', {
    description: 'Watermark delay for out-of-order events, in seconds.',
    ...integerRange('watermark.out.of.orderness.seconds'),
    unit: 'seconds',
  });
  numberVariable(stack, 'idleness_seconds', {
    description: 'A shard without events for this long stops holding back the watermark.',
    ...integerRange('watermark.idleness.seconds'),
    unit: 'seconds',
  });
  numberVariable(stack, 'max_future_skew_seconds', {
    description:
      'An event more than this far ahead of processing time is counted (futureEvents) and set aside: it never moves a watermark.',
    ...integerRange('event.max.future.skew.seconds'),
    unit: 'seconds',
  });
  numberVariable(stack, 'polling_interval_ms', {
    description:
      'input_reader = POLLING: least time between two GetRecords calls on one shard. Kinesis allows 5 calls/s per shard shared by all polling readers; ' +
      'Firehose and the Lambda mapping poll once per second each, so the default 1000 (1 call/s) keeps the three at 3 of 5.',
    ...integerRange('input.polling.interval.ms'),
    unit: 'ms',
  });
  const allowNonRestoredState = boolVariable(stack, 'allow_non_restored_state', {
    description:
      'Let an update restore a snapshot that holds state no operator of the new job claims (needed once when input_reader changes: the source operator changes). ' +
      "The state dropped is the old reader's shard positions. When false, such an update fails instead of silently dropping state.",
    default: false,
  });
  const timestreamEnabled = boolVariable(stack, 'timestream_enabled', {
    description: 'Also write aggregates to Timestream (timestream_database_name/table_name).',
    default: booleanDefault('timestream.enabled'),
  });
  const timestreamDatabase = stringVariable(stack, 'timestream_database_name', {
    description: 'Timestream database (timestream output database_name), when timestream_enabled.',
    default: null,
    pattern: stringPattern('timestream.database'),
  });
  const timestreamTable = stringVariable(stack, 'timestream_table_name', {
    description: 'Timestream table (timestream output table_name), when timestream_enabled.',
    default: null,
    pattern: stringPattern('timestream.table'),
  });
  const efoRule = crossVariableRule(stack, {
    variables: ['input_reader', 'efo_consumer_name'],
    message: 'efo_consumer_name: must be set when input_reader is EFO',
    enforcedBy: 'the application precondition',
    schema: {
      if: { properties: { input_reader: { const: 'EFO' } }, required: ['input_reader'] },
      then: { required: ['efo_consumer_name'], properties: { efo_consumer_name: { type: 'string' } } },
    },
  });
  const timestreamRule = crossVariableRule(stack, {
    variables: ['timestream_enabled', 'timestream_database_name', 'timestream_table_name'],
    message: 'timestream_enabled: true needs timestream_database_name and timestream_table_name',
    enforcedBy: 'the application precondition',
    schema: {
      if: { properties: { timestream_enabled: { const: true } }, required: ['timestream_enabled'] },
      then: {
        required: ['timestream_database_name', 'timestream_table_name'],
        properties: { timestream_database_name: { type: 'string' }, timestream_table_name: { type: 'string' } },
      },
    },
  });

  const parallelism = numberVariable(stack, 'parallelism', {
    description: 'Initial parallelism of the job.',
    default: 1,
    min: 1,
    max: 256,
  });
  const parallelismPerKpu = numberVariable(stack, 'parallelism_per_kpu', {
    description: 'Parallel tasks per KPU (1 vCPU, 4 GB).',
    default: 1,
    min: 1,
    max: 8,
  });
  const autoscaling = boolVariable(stack, 'autoscaling_enabled', {
    description: 'Let the service raise parallelism under load.',
    default: true,
  });
  const checkpointInterval = numberVariable(stack, 'checkpoint_interval_ms', {
    description: 'Checkpoint interval (exactly-once state), in ms.',
    default: 60_000,
    min: 1000,
    max: 3_600_000,
    unit: 'ms',
  });
  const minPause = numberVariable(stack, 'min_pause_between_checkpoints_ms', {
    description: 'Least time between the end of one checkpoint and the start of the next, in ms.',
    default: 5000,
    min: 0,
    max: 3_600_000,
    unit: 'ms',
  });
  const snapshots = boolVariable(stack, 'snapshots_enabled', {
    description: 'Take a snapshot on stop/update and restore from it.',
    default: true,
  });
  const metricsLevel = stringVariable(stack, 'metrics_level', {
    description: 'CloudWatch metrics level.',
    default: 'APPLICATION',
    allowed: ['APPLICATION', 'OPERATOR', 'PARALLELISM', 'TASK'],
  });
  const logLevel = stringVariable(stack, 'log_level', {
    description: 'Application log level sent to CloudWatch Logs.',
    default: 'INFO',
    allowed: ['DEBUG', 'INFO', 'WARN', 'ERROR'],
  });
  const start = boolVariable(stack, 'start_application', {
    description: 'Run the application after deploying it.',
    default: true,
  });
  const lagThreshold = numberVariable(stack, 'processing_lag_alarm_threshold_ms', {
    description:
      "Alarm when the job is this far behind the ingest stream (millisBehindLatest), in ms (the blueprint's 5 minutes by default).",
    default: 300_000,
    min: 1000,
    max: 604_800_000,
    unit: 'ms',
  });
  const retentionDays = logRetentionVariable(stack);
  const lifecycle = bucketLifecycleVariables(stack, 'artifact', { transitionDays: 30, expirationDays: 365 });
  return {
    source,
    destination,
    reader,
    efoConsumerName,
    allowNonRestoredState,
    timestreamEnabled,
    timestreamDatabase,
    timestreamTable,
    efoRule,
    timestreamRule,
    parallelism,
    parallelismPerKpu,
    autoscaling,
    checkpointInterval,
    minPause,
    snapshots,
    metricsLevel,
    logLevel,
    start,
    lagThreshold,
    retentionDays,
    lifecycle,
  };
}
