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
import { logGroup } from '../shared/logs';
import { PipelineStack } from '../shared/pipeline-stack';
import { efoConsumer } from '../shared/streams';
import { analyticsAlarms } from './alarms';
import { flinkArtifacts } from './artifacts';
import { analyticsRole, analyticsRolePolicy } from './iam';
import { PIPELINE_PROPERTIES, PROPERTY_GROUP, propertyMapExpression } from './properties';
import { analyticsVariables } from './variables';

export { FLINK_ARTIFACT } from './artifacts';
export { PROPERTY_GROUP } from './properties';

export class KinesisAnalyticsStack extends PipelineStack {
  constructor(scope: Construct, id = 'kinesis-analytics') {
    super(scope, id, { defaultName: 'analytics' });

    const v = analyticsVariables(this);

    // --- resources ---------------------------------------------------------------------------------
    const appName = this.resourceName();
    const efo = `${v.reader.fqn} == "EFO"`;
    const { statement: readThroughConsumer } = efoConsumer(this, v.source, v.efoConsumerName, efo);
    const timestream = v.timestreamEnabled.fqn;

    const logs = logGroup(this, 'log_group', {
      name: `/aws/kinesis-analytics/${appName}`,
      retentionDays: v.retentionDays,
    });
    const logStream = new CloudwatchLogStream(this, 'log_stream', { name: 'application', logGroupName: logs.name });

    // role → key (names the role) → bucket → jar → role policy (names bucket and key)
    const role = analyticsRole(this);
    const artifacts = flinkArtifacts(this, role, v.lifecycle);
    const { bucket, jar } = artifacts;
    analyticsRolePolicy(this, role, {
      source: v.source,
      readThroughConsumer,
      destination: v.destination,
      artifacts,
      logs,
      logStream,
      timestreamEnabled: v.timestreamEnabled,
      timestreamDatabase: v.timestreamDatabase,
      timestreamTable: v.timestreamTable,
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
        'input.stream.arn': `local.${v.source.arnLocal.node.id}`,
        'output.stream.arn': `local.${v.destination.arnLocal.node.id}`,
      }),
    );
    const app = new Kinesisanalyticsv2Application(this, 'application', {
      name: appName,
      description: 'Counts raw events per customer in tumbling event-time windows (flink/)',
      runtimeEnvironment: 'FLINK-1_20',
      serviceExecutionRole: role.arn,
      startApplication: v.start.booleanValue,
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
            checkpointInterval: v.checkpointInterval.numberValue,
            minPauseBetweenCheckpoints: v.minPause.numberValue,
          },
          monitoringConfiguration: {
            configurationType: 'CUSTOM',
            logLevel: v.logLevel.stringValue,
            metricsLevel: v.metricsLevel.stringValue,
          },
          parallelismConfiguration: {
            configurationType: 'CUSTOM',
            autoScalingEnabled: v.autoscaling.booleanValue,
            parallelism: v.parallelism.numberValue,
            parallelismPerKpu: v.parallelismPerKpu.numberValue,
          },
        },
        applicationSnapshotConfiguration: { snapshotsEnabled: v.snapshots.booleanValue },
        // The reader switch procedure (flink/README.md) sets this for one update, then back to false.
        runConfiguration: { flinkRunConfiguration: { allowNonRestoredState: v.allowNonRestoredState.booleanValue } },
      },
      cloudwatchLoggingOptions: { logStreamArn: logStream.arn },
      lifecycle: {
        precondition: [
          {
            condition: Token.asAny(`\${${efo} ? ${v.efoConsumerName.fqn} != null : true}`),
            errorMessage: v.efoRule,
          },
          {
            condition: Token.asAny(
              `\${${timestream} ? ${v.timestreamDatabase.fqn} != null && ${v.timestreamTable.fqn} != null : true}`,
            ),
            errorMessage: v.timestreamRule,
          },
        ],
      },
    });

    analyticsAlarms(this, app, {
      inputStreamName: v.source.name,
      processingLagThresholdMs: v.lagThreshold.numberValue,
    });

    this.output('application_name', app.name, 'Name of the Flink application.');
    this.output('application_arn', app.arn, 'ARN of the Flink application.');
    this.output('artifact_bucket_name', bucket.name, 'Bucket holding the job jar.');
    this.output('role_arn', role.arn, 'ARN of the application role.');
    this.output('log_group_name', logs.name, 'Log group of the application.');
  }
}
