/**
 * kinesis-analytics: the Flink aggregation job (flink/) on Managed Service for Apache Flink:
 * the jar in a hardened artifact bucket, the application with its `pipeline` property group,
 * checkpointing, snapshots, parallelism/autoscaling, logging, a least-privilege role and alarms.
 *
 * The jar is `dist/flink-aggregator.jar` next to the synthesized JSON (`npm run build:flink`
 * puts it there); the application runs the object version Terraform uploaded.
 */
import { Kinesisanalyticsv2Application } from '@cdktf/provider-aws/lib/kinesisanalyticsv2-application';
import { S3Object } from '@cdktf/provider-aws/lib/s3-object';
import { CloudwatchLogStream } from '@cdktf/provider-aws/lib/cloudwatch-log-stream';
import { Fn, TerraformLocal, Token } from 'cdktf';
import type { Construct } from 'constructs';
import { metricAlarm } from '../shared/alarms';
import { rolePolicy, serviceRole } from '../shared/iam';
import { customerKey, viaService } from '../shared/kms';
import { logGroup, logRetentionVariable } from '../shared/logs';
import { RESOURCE_NAME } from '../shared/patterns';
import { PipelineStack } from '../shared/pipeline-stack';
import { destinationStream, efoConsumer, sourceStream } from '../shared/streams';
import { bucketLifecycleVariables, SecureBucket } from '../shared/secure-bucket';
import { boolVariable, crossVariableRule, numberVariable, stringVariable, varRef } from '../shared/variables';

/** The jar `npm run build:flink` writes next to main.tf.json. */
export const FLINK_ARTIFACT = 'dist/flink-aggregator.jar';
const JAR_KEY = 'flink/flink-aggregator.jar';
/** The property group the job reads (flink/README.md). */
export const PROPERTY_GROUP = 'pipeline';

const TIMESTREAM_NAME = { regex: '[a-zA-Z0-9_.-]{3,256}', hint: '3-256 letters, digits, "_", "." or "-"' };

export class KinesisAnalyticsStack extends PipelineStack {
  constructor(scope: Construct, id = 'kinesis-analytics') {
    super(scope, id, { defaultName: 'analytics' });

    const source = sourceStream(this, 'kinesis-ingest output stream_name');
    // The Flink sink checks the stream before writing (DescribeStreamSummary).
    const destination = destinationStream(this, 'kinesis-output output stream_name', [
      'kinesis:PutRecords',
      'kinesis:DescribeStreamSummary',
    ]);
    const reader = stringVariable(this, 'input_reader', {
      description: 'How the job reads the ingest stream: POLLING (shared throughput) or EFO (efo_consumer_name).',
      default: 'POLLING',
      allowed: ['POLLING', 'EFO'],
    });
    const efoConsumerName = stringVariable(this, 'efo_consumer_name', {
      description: 'Registered EFO consumer (kinesis-ingest efo_consumer_names) used when input_reader = EFO.',
      default: null,
      pattern: RESOURCE_NAME,
    });
    const initialPosition = stringVariable(this, 'initial_position', {
      description: 'Where a job without state starts reading.',
      default: 'LATEST',
      allowed: ['LATEST', 'TRIM_HORIZON'],
    });
    const windowMinutes = numberVariable(this, 'window_size_minutes', {
      description: "Tumbling event-time window length, in minutes (the blueprint's 5 by default).",
      default: 5,
      min: 1,
      max: 1440,
      unit: 'minutes',
    });
    const lateness = numberVariable(this, 'allowed_lateness_seconds', {
      description: 'How late an event may be and still update its window; later ones are counted as late.',
      default: 0,
      min: 0,
      max: 3600,
      unit: 'seconds',
    });
    const outOfOrderness = numberVariable(this, 'out_of_orderness_seconds', {
      description: 'Watermark delay for out-of-order events, in seconds.',
      default: 30,
      min: 0,
      max: 3600,
      unit: 'seconds',
    });
    const idleness = numberVariable(this, 'idleness_seconds', {
      description: 'A shard without events for this long stops holding back the watermark.',
      default: 60,
      min: 1,
      max: 3600,
      unit: 'seconds',
    });
    const futureSkew = numberVariable(this, 'max_future_skew_seconds', {
      description:
        'An event more than this far ahead of processing time is counted (futureEvents) and set aside: it never moves a watermark.',
      default: 300,
      min: 0,
      max: 86_400,
      unit: 'seconds',
    });
    const pollingInterval = numberVariable(this, 'polling_interval_ms', {
      description:
        'input_reader = POLLING: least time between two GetRecords calls on one shard. Kinesis allows 5 calls/s per shard shared by all polling readers; ' +
        'Firehose and the Lambda mapping poll once per second each, so the default 1000 (1 call/s) keeps the three at 3 of 5.',
      default: 1000,
      min: 200,
      max: 60_000,
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
      default: false,
    });
    const timestreamDatabase = stringVariable(this, 'timestream_database_name', {
      description: 'Timestream database (timestream output database_name), when timestream_enabled.',
      default: null,
      pattern: TIMESTREAM_NAME,
    });
    const timestreamTable = stringVariable(this, 'timestream_table_name', {
      description: 'Timestream table (timestream output table_name), when timestream_enabled.',
      default: null,
      pattern: TIMESTREAM_NAME,
    });
    crossVariableRule(this, {
      variables: ['input_reader', 'efo_consumer_name'],
      message: 'efo_consumer_name: must be set when input_reader is EFO',
      enforcedBy: 'the application precondition',
      schema: {
        if: { properties: { input_reader: { const: 'EFO' } }, required: ['input_reader'] },
        then: { required: ['efo_consumer_name'], properties: { efo_consumer_name: { type: 'string' } } },
      },
    });
    crossVariableRule(this, {
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

    // --- names and ARNs ---------------------------------------------------------------------------
    const appName = this.resourceName();
    const efo = `${reader.fqn} == "EFO"`;
    const { statement: readThroughConsumer } = efoConsumer(this, source, efoConsumerName, efo);
    const timestream = timestreamEnabled.fqn;
    const timestreamTableArn = new TerraformLocal(
      this,
      'timestream_table_arn',
      Token.asString(
        `\${${timestream} ? "arn:\${${this.partitionExpression}}:timestream:\${${this.regionExpression}}:\${${this.accountIdExpression}}:database/\${${timestreamDatabase.fqn}}/table/\${${timestreamTable.fqn}}" : null}`,
      ),
    );

    const logs = logGroup(this, 'log_group', { name: `/aws/kinesis-analytics/${appName}`, retentionDays });
    const logStream = new CloudwatchLogStream(this, 'log_stream', { name: 'application', logGroupName: logs.name });

    // role → key (names the role) → bucket → jar → role policy (names bucket and key)
    const role = serviceRole(this, 'role', {
      suffix: 'analytics',
      servicePrincipal: 'kinesisanalytics.amazonaws.com',
      description: 'Managed Flink: read the ingest stream, write aggregates, read the jar, write logs',
    });
    const viaS3 = viaService(this, 's3');
    const key = customerKey(this, 'artifact_key', {
      suffix: 'artifacts',
      description: 'Encrypts the Flink application artifacts',
      users: [
        {
          sid: 'ApplicationReadsJarThroughS3',
          actions: ['kms:Decrypt'],
          resources: ['*'],
          wildcardResourceReason: 'in a key policy "*" means this key',
          principals: [{ type: 'AWS', identifiers: [role.arn] }],
          conditions: viaS3,
        },
      ],
    });
    const bucket = new SecureBucket(this, 'artifacts', {
      suffix: 'artifacts',
      kmsKeyArn: key.arn,
      lifecycle,
      deletionProtection: this.deletionProtection,
    });
    const artifact = `\${path.module}/${FLINK_ARTIFACT}`;
    const jar = new S3Object(this, 'jar', {
      bucket: bucket.name,
      key: JAR_KEY,
      source: artifact,
      // Written out: Fn.filemd5 would escape the path.module interpolation.
      sourceHash: `\${filemd5("${artifact}")}`,
      serverSideEncryption: 'aws:kms',
      kmsKeyId: key.arn,
      dependsOn: [bucket.versioning],
    });

    rolePolicy(this, 'role', role, [
      ...source.statements,
      readThroughConsumer,
      ...destination.statements,
      { sid: 'ReadJar', actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [`${bucket.arn}/${JAR_KEY}`] },
      { sid: 'DecryptJar', actions: ['kms:Decrypt'], resources: [key.arn], conditions: viaS3 },
      {
        sid: 'FindLogGroup',
        actions: ['logs:DescribeLogGroups'],
        // DescribeLogGroups authorizes on the account's log-group namespace, not one group.
        resources: [this.arn('logs', 'log-group:*')],
      },
      { sid: 'FindLogStream', actions: ['logs:DescribeLogStreams'], resources: [`${logs.arn}:log-stream:*`] },
      { sid: 'WriteLogs', actions: ['logs:PutLogEvents'], resources: [logStream.arn] },
      {
        sid: 'WriteTimestream',
        actions: ['timestream:WriteRecords'],
        resources: [timestreamTableArn.asString],
        enabledWhen: timestream,
      },
      {
        sid: 'DiscoverTimestreamEndpoint',
        actions: ['timestream:DescribeEndpoints'],
        resources: ['*'],
        wildcardResourceReason: 'Timestream endpoint discovery has no resource-level permissions',
        enabledWhen: timestream,
      },
    ]);

    // The `pipeline` property group (flink/README.md). Optional keys are merged in only when set:
    // the job rejects empty values. One hand-written expression, since CDKTF's Fn helpers cannot
    // nest conditionals.
    const property = (key: string, value: string) => `${JSON.stringify(key)} = ${value}`;
    const always = [
      property('aws.region', this.regionExpression),
      property('input.stream.arn', `local.${source.arnLocal.node.id}`),
      property('output.stream.arn', `local.${destination.arnLocal.node.id}`),
      property('input.reader', varRef(reader)),
      property('input.initial.position', varRef(initialPosition)),
      property('window.size.minutes', `tostring(${varRef(windowMinutes)})`),
      property('window.allowed.lateness.seconds', `tostring(${varRef(lateness)})`),
      property('watermark.out.of.orderness.seconds', `tostring(${varRef(outOfOrderness)})`),
      property('watermark.idleness.seconds', `tostring(${varRef(idleness)})`),
      property('event.max.future.skew.seconds', `tostring(${varRef(futureSkew)})`),
      property('input.polling.interval.ms', `tostring(${varRef(pollingInterval)})`),
      property('timestream.enabled', `tostring(${varRef(timestreamEnabled)})`),
    ];
    const whenEfo = property('input.efo.consumer.name', varRef(efoConsumerName));
    const whenTimestream = [
      property('timestream.database', varRef(timestreamDatabase)),
      property('timestream.table', varRef(timestreamTable)),
    ];
    const flinkProperties = new TerraformLocal(
      this,
      'flink_properties',
      `\${merge({ ${always.join(', ')} }, ${varRef(reader)} == "EFO" ? { ${whenEfo} } : {}, ${varRef(timestreamEnabled)} ? { ${whenTimestream.join(', ')} } : {})}`,
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
            errorMessage: 'Invalid combination: input_reader = EFO needs efo_consumer_name.',
          },
          {
            condition: Token.asAny(
              `\${${timestream} ? ${timestreamDatabase.fqn} != null && ${timestreamTable.fqn} != null : true}`,
            ),
            errorMessage:
              'Invalid combination: timestream_enabled = true needs timestream_database_name and timestream_table_name.',
          },
        ],
      },
    });

    const dims = { Application: app.name };
    metricAlarm(this, 'downtime_alarm', {
      suffix: 'downtime',
      description:
        'The Flink job is not running (downtime > 0): it is failing and restarting. Check the application logs.',
      metric: { namespace: 'AWS/KinesisAnalytics', metricName: 'downtime', dimensions: dims, statistic: 'Maximum' },
      threshold: 0,
      comparison: 'GreaterThanThreshold',
    });
    metricAlarm(this, 'failed_checkpoints_alarm', {
      suffix: 'failed-checkpoints',
      description: 'Checkpoints are failing (numberOfFailedCheckpoints > 0): exactly-once state is not being saved.',
      metric: {
        namespace: 'AWS/KinesisAnalytics',
        metricName: 'numberOfFailedCheckpoints',
        dimensions: dims,
        statistic: 'Maximum',
      },
      threshold: 0,
      comparison: 'GreaterThanThreshold',
    });
    metricAlarm(this, 'processing_lag_alarm', {
      suffix: 'processing-lag',
      description:
        'The Flink job is more than the threshold behind the ingest stream (millisBehindLatest): add parallelism or KPUs (POLLING: or lower polling_interval_ms within the shard budget).',
      metric: {
        namespace: 'AWS/KinesisAnalytics',
        metricName: 'millisBehindLatest',
        // Both readers publish it per input stream, Id = stream name with "-" as "_": EFO through the
        // connector's consumer metrics, POLLING as the job's custom metric
        // kinesisanalytics.Flow.Input.Id.<id>.millisBehindLatest (flink/README.md).
        dimensions: { Application: app.name, Flow: 'Input', Id: Fn.replace(source.name, '-', '_') },
        statistic: 'Maximum',
      },
      threshold: lagThreshold.numberValue,
      comparison: 'GreaterThanThreshold',
    });

    this.output('application_name', app.name, 'Name of the Flink application.');
    this.output('application_arn', app.arn, 'ARN of the Flink application.');
    this.output('artifact_bucket_name', bucket.name, 'Bucket holding the job jar.');
    this.output('role_arn', role.arn, 'ARN of the application role.');
    this.output('log_group_name', logs.name, 'Log group of the application.');
  }
}
