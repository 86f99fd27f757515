/**
 * lambda-enrichment: the function that enriches raw events with customer profiles (lambda-src/),
 * its Kinesis event source mapping, two SQS queues (the handler's dead-letter queue for malformed
 * records, and the mapping's on-failure destination for batches it gave up on), role, log group
 * and alarms.
 *
 * The function code is `dist/enrichment.zip` next to the synthesized JSON (`npm run build:lambda`
 * puts it there); Terraform hashes the file, so a new bundle is a new deployment.
 */
import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { Token } from 'cdktf';
import type { Construct } from 'constructs';
import { skipCheck } from '../shared/checkov';
import { cond, expr, firstRef, modulePath, template } from '../shared/expressions';
import { logGroup } from '../shared/logs';
import { PipelineStack } from '../shared/pipeline-stack';
import { efoConsumer } from '../shared/streams';
import { enrichmentAlarms } from './alarms';
import { ENRICHMENT_METRICS, HANDLER, LAMBDA_ARTIFACT } from './contract';
import { enrichmentRole } from './iam';
import { enrichmentVariables } from './variables';
import { functionNetwork } from './network';
import { enrichmentOutputs } from './outputs';
import { enrichmentQueues } from './queues';

export { LAMBDA_ARTIFACT } from './contract';

const { env: ENV } = HANDLER;

export class LambdaEnrichmentStack extends PipelineStack {
  constructor(scope: Construct, id = 'lambda-enrichment') {
    super(scope, id, { defaultName: 'enrichment' });

    const v = enrichmentVariables(this);

    // --- resources -----------------------------------------------------------------------------
    const functionName = this.resourceName();
    const efo = `${v.efoConsumerName.fqn} != null`;
    const { consumer, statement: readThroughConsumer } = efoConsumer(this, v.source, v.efoConsumerName, efo);
    const queues = enrichmentQueues(this);
    const { dlq, failures } = queues;
    const logs = logGroup(this, 'log_group', { name: `/aws/lambda/${functionName}`, retentionDays: v.retentionDays });
    const network = functionNetwork(this, {
      vpcId: v.vpcId,
      subnets: v.subnets,
      extraGroups: v.extraGroups,
      daxEndpoint: v.daxEndpoint,
      daxClientGroup: v.daxClientGroup,
      daxClusterGroup: v.daxClusterGroup,
    });
    const role = enrichmentRole(this, {
      source: v.source,
      readThroughConsumer,
      destination: v.destination,
      table: v.table,
      daxEndpoint: v.daxEndpoint,
      daxClusterArn: v.daxClusterArn,
      dlq,
      failures,
      logs,
      inVpc: network.inVpc,
    });

    const artifact = modulePath(LAMBDA_ARTIFACT);
    const fn = new LambdaFunction(this, 'function', {
      functionName,
      description: 'Enriches raw events with customer profiles (lambda-src)',
      role: role.arn,
      runtime: v.runtime.stringValue,
      architectures: ['arm64'],
      handler: 'index.handler',
      filename: artifact,
      // Written out: Fn.filebase64sha256 would escape the path.module interpolation.
      sourceCodeHash: expr(`filebase64sha256(${template(artifact)})`),
      memorySize: v.memory.numberValue,
      timeout: v.timeout.numberValue,
      reservedConcurrentExecutions: v.reserved.numberValue,
      tracingConfig: { mode: 'Active' },
      loggingConfig: { logFormat: 'JSON', logGroup: logs.name },
      vpcConfig: { subnetIds: v.subnets.listValue, securityGroupIds: network.securityGroupIds },
      environment: {
        variables: {
          [ENV.lookupTableName]: v.table.stringValue,
          [ENV.outputStreamName]: v.destination.name,
          [ENV.dlqUrl]: dlq.url,
          [ENV.daxEndpoint]: v.daxEndpoint.stringValue,
          [ENV.cacheMaxEntries]: Token.asString(v.cacheEntries.numberValue),
          [ENV.cacheMaxBytes]: Token.asString(v.cacheBytes.numberValue),
          [ENV.cacheTtlSeconds]: Token.asString(v.cacheTtl.numberValue),
          [ENV.maxRecordBytes]: Token.asString(v.maxRecordBytes.numberValue),
          [ENV.serviceName]: functionName,
          [ENV.metricsNamespace]: ENRICHMENT_METRICS.namespace,
          [ENV.logLevel]: v.logLevel.stringValue,
        },
      },
      dependsOn: [logs],
      lifecycle: {
        precondition: [
          {
            // dax_security_group_id is the DAX cluster's group, for the function's egress on
            // DAX_TLS_PORT; both groups are dynamodb-lookup outputs.
            condition: Token.asAny(
              `\${${v.daxEndpoint.fqn} == "" ? true : ${v.daxClusterArn.fqn} != "" && length(${v.subnets.fqn}) > 0 && ${v.vpcId.fqn} != null && ${v.daxClientGroup.fqn} != "" && ${v.daxClusterGroup.fqn} != ""}`,
            ),
            errorMessage: v.daxRule,
          },
          {
            condition: Token.asAny(`\${length(${v.subnets.fqn}) > 0 ? ${v.vpcId.fqn} != null : true}`),
            errorMessage: v.vpcRule,
          },
        ],
      },
    });

    skipCheck(
      fn,
      'CKV_AWS_116',
      "invoked only by the Kinesis event source mapping (synchronous); batches it gives up on go to the mapping's on-failure destination, the SQS failures queue",
    );
    skipCheck(
      fn,
      'CKV_AWS_173',
      'environment holds resource names, a queue URL and numbers, no secrets; Lambda encrypts it with an AWS-managed key',
    );
    skipCheck(
      fn,
      'CKV_AWS_272',
      'CI builds a deterministic bundle from this repository, pinned by source_code_hash; signing needs an AWS Signer profile outside this component',
    );

    const mapping = new LambdaEventSourceMapping(this, 'event_source', {
      functionName: fn.arn,
      eventSourceArn: expr(cond(efo, firstRef(consumer, 'arn'), v.source.arnLocal.fqn)),
      startingPosition: v.startingPosition.stringValue,
      batchSize: v.batchSize.numberValue,
      maximumBatchingWindowInSeconds: v.batchingWindow.numberValue,
      parallelizationFactor: v.parallelization.numberValue,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: v.retries.numberValue,
      maximumRecordAgeInSeconds: v.maxRecordAge.numberValue,
      functionResponseTypes: ['ReportBatchItemFailures'],
      destinationConfig: { onFailure: { destinationArn: failures.arn } },
    });

    enrichmentAlarms(this, fn, {
      errorRatePercent: v.errorRate.numberValue,
      iteratorAgeMs: v.iteratorAge.numberValue,
      failedRecords: v.failedRecordsThreshold.numberValue,
    });
    enrichmentOutputs(this, { fn, role, mapping, logs, ...queues });
  }
}
