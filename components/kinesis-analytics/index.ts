/**
 * kinesis-analytics: the Flink aggregation job (flink/) on Managed Service for Apache Flink:
 * the jar in a hardened artifact bucket, the application with its `pipeline` property group,
 * checkpointing, snapshots, parallelism/autoscaling, logging, a least-privilege role and alarms.
 *
 * The jar is `dist/flink-aggregator.jar` next to the synthesized JSON (`npm run build:flink`
 * puts it there); the application runs the object version Terraform uploaded.
 */
import { CloudwatchLogStream } from '@cdktf/provider-aws/lib/cloudwatch-log-stream';
import { Kinesisanalyticsv2Application } from '@cdktf/provider-aws/lib/kinesisanalyticsv2-application';
import { TerraformLocal, Token } from 'cdktf';
import type { Construct } from 'constructs';
import { logGroup, logRetentionVariable } from '../shared/logs';
import { PipelineStack } from '../shared/pipeline-stack';
import { bucketLifecycleVariables } from '../shared/secure-bucket';
import { destinationStream, efoConsumer, sourceStream } from '../shared/streams';
import { boolVariable, crossVariableRule, numberVariable, stringVariable } from '../shared/variables';
import { analyticsAlarms } from './alarms';
import { flinkArtifacts } from './artifacts';
import { analyticsRole, analyticsRolePolicy } from './iam';
import {
  booleanDefault,
  enumValues,
  integerRange,
  PIPELINE_PROPERTIES,
  PROPERTY_GROUP,
  propertyMapExpression,
  stringPattern,
} from './properties';

export { FLINK_ARTIFACT } from './artifacts';
export { PROPERTY_GROUP } from './properties';

export class KinesisAnalyticsStack extends PipelineStack {
  constructor(scope: Construct, id = 'kinesis-analytics') {
    super(scope, id, { defaultName: 'analytics' });

    const source = sourceStream(this, 'kinesis-ingest output stream_name');
    // The Flink sink checks the stream before writing (DescribeStreamSummary).
    const destination = destinationStream(this, 'kinesis-output output stream_name', [
      'kinesis:PutRecords',
      'kinesis:DescribeStreamSummary',
    ]);
    // The job's settings: defaults, ranges and values come from the property declaration
    // (properties.ts), and the property map below reads these variables by name.
    const reader = stringVariable(this, 'input_reader', {
      description: 'How the job reads the ingest stream: POLLING (shared throughput) or EFO (efo_consumer_name).',
      ...enumValues('input.reader'),
    });
    const efoConsumerName = stringVariable(this, 'efo_consumer_name', {
      description: 'Registered EFO consumer (kinesis-ingest efo_consumer_names) used when input_reader = EFO.',
      default: null,
      pattern: stringPattern('input.efo.consumer.name'),
    });
    stringVariable(this, 'initial_position', {
      description: 'Where a job without state starts reading.',
      ...enumValues('input.initial.position'),
    });
    numberVariable(this, 'window_size_minutes', {
      description: "Tumbling event-time window length, in minutes (the blueprint's 5 by default).",
      ...integerRange('window.size.minutes'),
      unit: 'minutes',
    });
    numberVariable(this, 'allowed_lateness_seconds', {
      description: 'How late an event may be and still update its window; later ones are counted as late.',
      ...integerRange('window.allowed.lateness.seconds'),
      unit: 'seconds',
    });
    numberVariable(this, 'out_of_orderness_seconds', {
      description: 'Watermark delay for out-of-order events, in seconds.',
      ...integerRange('watermark.out.of.orderness.seconds'),
      unit: 'seconds',
    });
    numberVariable(this, 'idleness_seconds', {
      description: 'A shard without events for this long stops holding back the watermark.',
      ...integerRange('watermark.idleness.seconds'),
      unit: 'seconds',
    });
    numberVariable(this, 'max_future_skew_seconds', {
      description:
        'An event more than this far ahead of processing time is counted (futureEvents) and set aside: it never moves a watermark.',
      ...integerRange('event.max.future.skew.seconds'),
      unit: 'seconds',
    });
    numberVariable(this, 'polling_interval_ms', {
      description:
        'input_reader = POLLING: least time between two GetRecords calls on one shard. Kinesis allows 5 calls/s per shard shared by all polling readers; ' +
        'Firehose and the Lambda mapping poll once per second each, so the default 1000 (1 call/s) keeps the three at 3 of 5.',
      ...integerRange('input.polling.interval.ms'),
      unit: 'ms',
    });
    const allowNonRestoredState = boolVariable(this, 'allow_non_restored_state', {
      description:
        'Let an update restore a snapshot that holds state no operator of the new job claims (needed once when input_reader changes: the source operator changes). ' +
        "The state dropped is the old reader's shard positions. When false, such an update fails instead of silently dropping state.",
      default: false,
    });
    const timestreamEnabled = boolVariable(this, 'timestream_enabled', {
      description: 'Also write aggregates to Timestream (timestream_database_name/table_name).',
      default: booleanDefault('timestream.enabled'),
    });
    const timestreamDatabase = stringVariable(this, 'timestream_database_name', {
      description: 'Timestream database (timestream output database_name), when timestream_enabled.',
      default: null,
      pattern: stringPattern('timestream.database'),
    });
    const timestreamTable = stringVariable(this, 'timestream_table_name', {
      description: 'Timestream table (timestream output table_name), when timestream_enabled.',
      default: null,
      pattern: stringPattern('timestream.table'),
    });
    const efoRule = crossVariableRule(this, {
      variables: ['input_reader', 'efo_consumer_name'],
      message: 'efo_consumer_name: must be set when input_reader is EFO',
      enforcedBy: 'the application precondition',
      schema: {
        if: { properties: { input_reader: { const: 'EFO' } }, required: ['input_reader'] },
        then: { required: ['efo_consumer_name'], properties: { efo_consumer_name: { type: 'string' } } },
      },
    });
    const timestreamRule = crossVariableRule(this, {
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

    const parallelism = numberVariable(this, 'parallelism', {
      description: 'Initial parallelism of the job.',
      default: 1,
      min: 1,
      max: 256,
    });
    const parallelismPerKpu = numberVariable(this, 'parallelism_per_kpu', {
      description: 'Parallel tasks per KPU (1 vCPU, 4 GB).',
      default: 1,
      min: 1,
      max: 8,
    });
    const autoscaling = boolVariable(this, 'autoscaling_enabled', {
      description: 'Let the service raise parallelism under load.',
      default: true,
    });
    const checkpointInterval = numberVariable(this, 'checkpoint_interval_ms', {
      description: 'Checkpoint interval (exactly-once state), in ms.',
      default: 60_000,
      min: 1000,
      max: 3_600_000,
      unit: 'ms',
    });
    const minPause = numberVariable(this, 'min_pause_between_checkpoints_ms', {
      description: 'Least time between the end of one checkpoint and the start of the next, in ms.',
      default: 5000,
      min: 0,
      max: 3_600_000,
      unit: 'ms',
    });
    const snapshots = boolVariable(this, 'snapshots_enabled', {
      description: 'Take a snapshot on stop/update and restore from it.',
      default: true,
    });
    const metricsLevel = stringVariable(this, 'metrics_level', {
      description: 'CloudWatch metrics level.',
      default: 'APPLICATION',
      allowed: ['APPLICATION', 'OPERATOR', 'PARALLELISM', 'TASK'],
    });
    const logLevel = stringVariable(this, 'log_level', {
      description: 'Application log level sent to CloudWatch Logs.',
      default: 'INFO',
      allowed: ['DEBUG', 'INFO', 'WARN', 'ERROR'],
    });
    const start = boolVariable(this, 'start_application', {
      description: 'Run the application after deploying it.',
      default: true,
    });
    const lagThreshold = numberVariable(this, 'processing_lag_alarm_threshold_ms', {
      description:
        "Alarm when the job is this far behind the ingest stream (millisBehindLatest), in ms (the blueprint's 5 minutes by default).",
      default: 300_000,
      min: 1000,
      max: 604_800_000,
      unit: 'ms',
    });
    const retentionDays = logRetentionVariable(this);
    const lifecycle = bucketLifecycleVariables(this, 'artifact', { transitionDays: 30, expirationDays: 365 });

    // --- resources ---------------------------------------------------------------------------------
    const appName = this.resourceName();
    const efo = `${reader.fqn} == "EFO"`;
    const { statement: readThroughConsumer } = efoConsumer(this, source, efoConsumerName, efo);
    const timestream = timestreamEnabled.fqn;

    const logs = logGroup(this, 'log_group', { name: `/aws/kinesis-analytics/${appName}`, retentionDays });
    const logStream = new CloudwatchLogStream(this, 'log_stream', { name: 'application', logGroupName: logs.name });

    // role → key (names the role) → bucket → jar → role policy (names bucket and key)
    const role = analyticsRole(this);
    const artifacts = flinkArtifacts(this, role, lifecycle);
    const { bucket, jar } = artifacts;
    analyticsRolePolicy(this, role, {
      source,
      readThroughConsumer,
      destination,
      artifacts,
      logs,
      logStream,
      timestreamEnabled,
      timestreamDatabase,
      timestreamTable,
    });

    // The `pipeline` property group (flink/README.md), built from its one declaration
    // (properties.ts): optional keys are merged in only when set, since the job rejects empty values.
    for (const p of PIPELINE_PROPERTIES) {
      if (p.variable !== undefined && this.node.tryFindChild(p.variable) === undefined) {
        throw new Error(`property ${p.key}: the component declares no variable ${p.variable}`);
      }
    }
    const flinkProperties = new TerraformLocal(
      this,
      'flink_properties',
      propertyMapExpression({
        'aws.region': this.regionExpression,
        'input.stream.arn': `local.${source.arnLocal.node.id}`,
        'output.stream.arn': `local.${destination.arnLocal.node.id}`,
      }),
    );
    const app = new Kinesisanalyticsv2Application(this, 'application', {
      name: appName,
      description: 'Counts raw events per customer in tumbling event-time windows (flink/)',
      runtimeEnvironment: 'FLINK-1_20',
      serviceExecutionRole: role.arn,
      startApplication: start.booleanValue,
      applicationConfiguration: {
        applicationCodeConfiguration: {
          codeContentType: 'ZIPFILE',
          codeContent: {
            s3ContentLocation: { bucketArn: bucket.arn, fileKey: jar.key, objectVersion: jar.versionId },
          },
        },
        environmentProperties: {
          propertyGroup: [
            {
              propertyGroupId: PROPERTY_GROUP,
              propertyMap: flinkProperties.asStringMap,
            },
          ],
        },
        flinkApplicationConfiguration: {
          checkpointConfiguration: {
            configurationType: 'CUSTOM',
            checkpointingEnabled: true,
            checkpointInterval: checkpointInterval.numberValue,
            minPauseBetweenCheckpoints: minPause.numberValue,
          },
          monitoringConfiguration: {
            configurationType: 'CUSTOM',
            logLevel: logLevel.stringValue,
            metricsLevel: metricsLevel.stringValue,
          },
          parallelismConfiguration: {
            configurationType: 'CUSTOM',
            autoScalingEnabled: autoscaling.booleanValue,
            parallelism: parallelism.numberValue,
            parallelismPerKpu: parallelismPerKpu.numberValue,
          },
        },
        applicationSnapshotConfiguration: { snapshotsEnabled: snapshots.booleanValue },
        // The reader switch procedure (flink/README.md) sets this for one update, then back to false.
        runConfiguration: { flinkRunConfiguration: { allowNonRestoredState: allowNonRestoredState.booleanValue } },
      },
      cloudwatchLoggingOptions: { logStreamArn: logStream.arn },
      lifecycle: {
        precondition: [
          {
            condition: Token.asAny(`\${${efo} ? ${efoConsumerName.fqn} != null : true}`),
            errorMessage: efoRule,
          },
          {
            condition: Token.asAny(
              `\${${timestream} ? ${timestreamDatabase.fqn} != null && ${timestreamTable.fqn} != null : true}`,
            ),
            errorMessage: timestreamRule,
          },
        ],
      },
    });

    analyticsAlarms(this, app, { inputStreamName: source.name, processingLagThresholdMs: lagThreshold.numberValue });

    this.output('application_name', app.name, 'Name of the Flink application.');
    this.output('application_arn', app.arn, 'ARN of the Flink application.');
    this.output('artifact_bucket_name', bucket.name, 'Bucket holding the job jar.');
    this.output('role_arn', role.arn, 'ARN of the application role.');
    this.output('log_group_name', logs.name, 'Log group of the application.');
  }
}
