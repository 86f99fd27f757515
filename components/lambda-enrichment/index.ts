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
import { RETENTION_HOURS } from '../shared/kinesis-stream';
import { logGroup, logRetentionVariable } from '../shared/logs';
import { RESOURCE_NAME, SECURITY_GROUP_ID, SUBNET_ID, VPC_ID } from '../shared/patterns';
import { PipelineStack } from '../shared/pipeline-stack';
import { destinationStream, efoConsumer, sourceStream } from '../shared/streams';
import {
  crossVariableRule,
  numberVariable,
  REQUIRED,
  stringListVariable,
  stringVariable,
  varRef,
} from '../shared/variables';
import { enrichmentAlarms } from './alarms';
import { CACHE_MAX_BYTES, ENRICHMENT_METRICS, HANDLER, LAMBDA_ARTIFACT, REPLAY_MARGIN_SECONDS } from './contract';
import { enrichmentRole } from './iam';
import { DAX_TLS_PORT, functionNetwork } from './network';
import { enrichmentOutputs } from './outputs';
import { enrichmentQueues } from './queues';

export { LAMBDA_ARTIFACT } from './contract';

const { env: ENV, limits: LIMITS, patterns: PATTERNS } = HANDLER;

export class LambdaEnrichmentStack extends PipelineStack {
  constructor(scope: Construct, id = 'lambda-enrichment') {
    super(scope, id, { defaultName: 'enrichment' });

    // --- wiring: names of other components' resources --------------------------------------
    const source = sourceStream(this, 'kinesis-ingest output stream_name');
    const destination = destinationStream(this, 'kinesis-output output stream_name');
    const sourceRetention = numberVariable(this, 'source_stream_retention_hours', {
      description:
        'Retention of the source stream in hours (kinesis-ingest retention_period_hours; the catalog wires both from settings.ingest_retention_period_hours), the bound for maximum_record_age_seconds.',
      default: REQUIRED,
      min: RETENTION_HOURS.min,
      max: RETENTION_HOURS.max,
      unit: 'hours',
    });
    const table = stringVariable(this, 'lookup_table_name', {
      description: 'Name of the customer lookup table (dynamodb-lookup output table_name).',
      default: REQUIRED,
      pattern: PATTERNS.lookupTableName,
    });
    const efoConsumerName = stringVariable(this, 'efo_consumer_name', {
      description:
        'Registered enhanced fan-out consumer of the source stream to read through (kinesis-ingest efo_consumer_names); null = poll the stream.',
      default: null,
      pattern: RESOURCE_NAME,
    });
    const daxEndpoint = stringVariable(this, 'dax_endpoint', {
      description: 'DAX endpoint (dynamodb-lookup output dax_endpoint, daxs://...); "" = read DynamoDB directly.',
      default: '',
      pattern: { regex: `(${PATTERNS.daxEndpoint.regex})?`, hint: `empty or ${PATTERNS.daxEndpoint.hint}` },
    });
    const daxClusterArn = stringVariable(this, 'dax_cluster_arn', {
      description: 'ARN of the DAX cluster (dynamodb-lookup output dax_cluster_arn), for dax:BatchGetItem.',
      default: '',
      pattern: {
        regex: '(arn:aws[a-z-]*:dax:[a-z0-9-]+:[0-9]{12}:cache/[A-Za-z0-9-]{1,20})?',
        hint: 'empty or a DAX cluster ARN',
      },
    });
    const vpcId = stringVariable(this, 'vpc_id', {
      description: "VPC of vpc_subnet_ids (for the function's own security group).",
      default: null,
      pattern: VPC_ID,
    });
    const subnets = stringListVariable(this, 'vpc_subnet_ids', {
      description: 'Private subnets to run the function in (needed to reach DAX); [] = no VPC.',
      default: [],
      pattern: SUBNET_ID,
      maxItems: 16,
    });
    const extraGroups = stringListVariable(this, 'vpc_security_group_ids', {
      description: 'Extra security groups for the function in a VPC.',
      default: [],
      pattern: SECURITY_GROUP_ID,
      maxItems: 4,
    });
    const optionalGroup = { regex: `(${SECURITY_GROUP_ID.regex})?`, hint: `empty or ${SECURITY_GROUP_ID.hint}` };
    const daxClientGroup = stringVariable(this, 'dax_client_security_group_id', {
      description:
        'The DAX client security group (dynamodb-lookup output dax_client_security_group_id), attached to the function: the DAX cluster admits only this group. Required with dax_endpoint.',
      default: '',
      pattern: optionalGroup,
    });
    const daxClusterGroup = stringVariable(this, 'dax_security_group_id', {
      description: `The DAX cluster's security group (dynamodb-lookup output dax_security_group_id): the function's own group allows TCP ${DAX_TLS_PORT} (daxs) to it. Required with dax_endpoint.`,
      default: '',
      pattern: optionalGroup,
    });
    const daxNeeds = [
      'dax_cluster_arn',
      'vpc_subnet_ids',
      'vpc_id',
      'dax_client_security_group_id',
      'dax_security_group_id',
    ] as const;
    const daxRule = crossVariableRule(this, {
      variables: ['dax_endpoint', ...daxNeeds],
      message: `dax_endpoint: needs ${daxNeeds.join(', ')} (DAX is reachable only inside the VPC and admits only its client group)`,
      enforcedBy: "the function's preconditions",
      schema: {
        if: { properties: { dax_endpoint: { minLength: 1 } }, required: ['dax_endpoint'] },
        then: {
          required: [...daxNeeds],
          properties: {
            dax_cluster_arn: { minLength: 1 },
            vpc_subnet_ids: { minItems: 1 },
            vpc_id: { type: 'string' },
            dax_client_security_group_id: { minLength: 1 },
            dax_security_group_id: { minLength: 1 },
          },
        },
      },
    });
    const vpcRule = crossVariableRule(this, {
      variables: ['vpc_subnet_ids', 'vpc_id'],
      message: 'vpc_id: must be set when vpc_subnet_ids is not empty',
      enforcedBy: "the function's security group (vpc_id)",
      schema: {
        if: { properties: { vpc_subnet_ids: { minItems: 1 } }, required: ['vpc_subnet_ids'] },
        then: { required: ['vpc_id'], properties: { vpc_id: { type: 'string' } } },
      },
    });

    // --- function settings -------------------------------------------------------------------
    // nodejs22.x by default: the Node major the project's tests run the handler bundle on (the
    // pinned toolchain, .node-version). nodejs24.x is allowed: Lambda serves it, the pinned AWS
    // provider's validation knows it, and the handler is async (Node 24's runtime drops
    // callback-style handlers); move the default to it before nodejs22.x's deprecation (Node 22's
    // end of life, 2027-04-30). nodejs20.x is gone: Node 20 reached end of life on 2026-04-30 and
    // Lambda deprecated the runtime with it.
    const runtime = stringVariable(this, 'runtime', {
      description: 'Node.js runtime.',
      default: 'nodejs22.x',
      allowed: ['nodejs22.x', 'nodejs24.x'],
    });
    const memory = numberVariable(this, 'memory_size_mb', {
      description: 'Function memory (and so CPU), in MB.',
      default: 256,
      min: 128,
      max: 10_240,
      unit: 'MB',
    });
    const timeout = numberVariable(this, 'timeout_seconds', {
      description: 'Function timeout per batch, in seconds.',
      default: 60,
      min: 3,
      max: 900,
      unit: 'seconds',
    });
    const reserved = numberVariable(this, 'reserved_concurrency', {
      description: 'Reserved concurrent executions (caps shards × parallelization factor); -1 = unreserved.',
      default: -1,
      min: -1,
      max: 1000,
    });
    const cacheEntries = numberVariable(this, 'cache_max_entries', {
      description: 'Profiles kept in the in-process LRU cache (CACHE_MAX_ENTRIES).',
      ...LIMITS.cacheMaxEntries,
    });
    const cacheBytes = numberVariable(this, 'cache_max_bytes', {
      description: 'Byte bound of the in-process profile cache (CACHE_MAX_BYTES).',
      default: CACHE_MAX_BYTES.default,
      min: CACHE_MAX_BYTES.min,
      max: CACHE_MAX_BYTES.max,
      unit: 'bytes',
    });
    // The other half is the runtime, the batch being processed and the SDK's buffers; a cache
    // that can outgrow the function ends every invocation in an out-of-memory crash.
    crossVariableRule(this, {
      variables: ['cache_max_bytes', 'memory_size_mb'],
      message: 'cache_max_bytes: must be at most half of memory_size_mb (memory_size_mb × 524288 bytes)',
      hcl: { on: cacheBytes, condition: 'var.cache_max_bytes <= var.memory_size_mb * 1048576 / 2' },
      rego: 'vars.cache_max_bytes > vars.memory_size_mb * 524288',
    });
    const cacheTtl = numberVariable(this, 'cache_ttl_seconds', {
      description: 'How long a cached profile is trusted (CACHE_TTL_SECONDS).',
      ...LIMITS.cacheTtlSeconds,
      unit: 'seconds',
    });
    const maxRecordBytes = numberVariable(this, 'max_record_bytes', {
      description: 'Largest record accepted; larger ones go to the DLQ (MAX_RECORD_BYTES).',
      ...LIMITS.maxRecordBytes,
      unit: 'bytes',
    });
    const logLevel = stringVariable(this, 'log_level', {
      description: 'Powertools log level.',
      default: 'INFO',
      allowed: HANDLER.logLevels,
    });
    const retentionDays = logRetentionVariable(this);

    // --- event source mapping ----------------------------------------------------------------
    const batchSize = numberVariable(this, 'batch_size', {
      // 500 rather than Lambda's 100: lookups are batched per invocation, so larger batches mean
      // far fewer DynamoDB requests (bench/lambda-enrichment.ts: 6.7x fewer than the blueprint's
      // handler at 100, 23.7x at 500) while one batch still fits comfortably in the timeout.
      description: 'Records per invocation.',
      default: 500,
      min: 1,
      max: 10_000,
    });
    const batchingWindow = numberVariable(this, 'batching_window_seconds', {
      description: 'Longest wait to fill a batch, in seconds.',
      default: 1,
      min: 0,
      max: 300,
      unit: 'seconds',
    });
    const startingPosition = stringVariable(this, 'starting_position', {
      description: 'Where a new mapping starts reading.',
      default: 'LATEST',
      allowed: ['LATEST', 'TRIM_HORIZON'],
    });
    const parallelization = numberVariable(this, 'parallelization_factor', {
      description: 'Concurrent batches per shard (order kept per partition key).',
      default: 1,
      min: 1,
      max: 10,
    });
    const retries = numberVariable(this, 'maximum_retry_attempts', {
      description:
        'Retries of a failed batch before the mapping sends it to the on-failure queue (finite: -1/infinite is refused).',
      default: 3,
      min: 0,
      max: 10_000,
    });
    const maxRecordAge = numberVariable(this, 'maximum_record_age_seconds', {
      description: 'Records older than this go to the on-failure queue instead of being retried (finite).',
      default: 3600,
      min: 60,
      max: 604_800,
      unit: 'seconds',
    });
    // Cross-variable rule (OpenTofu >= 1.8): the on-failure message only names the records, so
    // they must still be in the stream when `atmos replay-failures` reads them. Atmos checks it
    // too (the generated policy), with source_stream_retention_hours wired by the catalog.
    crossVariableRule(this, {
      variables: ['maximum_record_age_seconds', 'source_stream_retention_hours'],
      message:
        `maximum_record_age_seconds: must be from 60 to source_stream_retention_hours × 3600 − ${REPLAY_MARGIN_SECONDS} seconds ` +
        `(the ingest stream keeps records source_stream_retention_hours; ${REPLAY_MARGIN_SECONDS / 3600} h must be left to replay the on-failure queue)`,
      hcl: {
        on: maxRecordAge,
        condition: `var.maximum_record_age_seconds <= ${varRef(sourceRetention)} * 3600 - ${REPLAY_MARGIN_SECONDS}`,
      },
      rego: `vars.maximum_record_age_seconds > (vars.source_stream_retention_hours * 3600) - ${REPLAY_MARGIN_SECONDS}`,
    });

    // --- alarms --------------------------------------------------------------------------------
    const errorRate = numberVariable(this, 'error_rate_alarm_threshold_percent', {
      description: "Alarm when more than this share of invocations fail, in percent (the blueprint's 1 by default).",
      default: 1,
      min: 0,
      max: 100,
      integer: false,
      unit: 'percent',
    });
    const failedRecordsThreshold = numberVariable(this, 'failed_records_alarm_threshold', {
      description:
        "Alarm when more records than this are reported as batch item failures in a minute (the handler's FailedRecords metric).",
      default: 0,
      min: 0,
      max: 1_000_000,
    });
    const iteratorAge = numberVariable(this, 'iterator_age_alarm_threshold_ms', {
      description: 'Alarm when the mapping is this far behind the stream, in ms.',
      default: 60_000,
      min: 1000,
      max: 604_800_000,
      unit: 'ms',
    });

    // --- resources -----------------------------------------------------------------------------
    const functionName = this.resourceName();
    const efo = `${efoConsumerName.fqn} != null`;
    const { consumer, statement: readThroughConsumer } = efoConsumer(this, source, efoConsumerName, efo);
    const queues = enrichmentQueues(this);
    const { dlq, failures } = queues;
    const logs = logGroup(this, 'log_group', { name: `/aws/lambda/${functionName}`, retentionDays });
    const network = functionNetwork(this, {
      vpcId,
      subnets,
      extraGroups,
      daxEndpoint,
      daxClientGroup,
      daxClusterGroup,
    });
    const role = enrichmentRole(this, {
      source,
      readThroughConsumer,
      destination,
      table,
      daxEndpoint,
      daxClusterArn,
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
      runtime: runtime.stringValue,
      architectures: ['arm64'],
      handler: 'index.handler',
      filename: artifact,
      // Written out: Fn.filebase64sha256 would escape the path.module interpolation.
      sourceCodeHash: expr(`filebase64sha256(${template(artifact)})`),
      memorySize: memory.numberValue,
      timeout: timeout.numberValue,
      reservedConcurrentExecutions: reserved.numberValue,
      tracingConfig: { mode: 'Active' },
      loggingConfig: { logFormat: 'JSON', logGroup: logs.name },
      vpcConfig: { subnetIds: subnets.listValue, securityGroupIds: network.securityGroupIds },
      environment: {
        variables: {
          [ENV.lookupTableName]: table.stringValue,
          [ENV.outputStreamName]: destination.name,
          [ENV.dlqUrl]: dlq.url,
          [ENV.daxEndpoint]: daxEndpoint.stringValue,
          [ENV.cacheMaxEntries]: Token.asString(cacheEntries.numberValue),
          [ENV.cacheMaxBytes]: Token.asString(cacheBytes.numberValue),
          [ENV.cacheTtlSeconds]: Token.asString(cacheTtl.numberValue),
          [ENV.maxRecordBytes]: Token.asString(maxRecordBytes.numberValue),
          [ENV.serviceName]: functionName,
          [ENV.metricsNamespace]: ENRICHMENT_METRICS.namespace,
          [ENV.logLevel]: logLevel.stringValue,
        },
      },
      dependsOn: [logs],
      lifecycle: {
        precondition: [
          {
            // dax_security_group_id is the DAX cluster's group, for the function's egress on
            // DAX_TLS_PORT; both groups are dynamodb-lookup outputs.
            condition: Token.asAny(
              `\${${daxEndpoint.fqn} == "" ? true : ${daxClusterArn.fqn} != "" && length(${subnets.fqn}) > 0 && ${vpcId.fqn} != null && ${daxClientGroup.fqn} != "" && ${daxClusterGroup.fqn} != ""}`,
            ),
            errorMessage: daxRule,
          },
          {
            condition: Token.asAny(`\${length(${subnets.fqn}) > 0 ? ${vpcId.fqn} != null : true}`),
            errorMessage: vpcRule,
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
      eventSourceArn: expr(cond(efo, firstRef(consumer, 'arn'), source.arnLocal.fqn)),
      startingPosition: startingPosition.stringValue,
      batchSize: batchSize.numberValue,
      maximumBatchingWindowInSeconds: batchingWindow.numberValue,
      parallelizationFactor: parallelization.numberValue,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: retries.numberValue,
      maximumRecordAgeInSeconds: maxRecordAge.numberValue,
      functionResponseTypes: ['ReportBatchItemFailures'],
      destinationConfig: { onFailure: { destinationArn: failures.arn } },
    });

    enrichmentAlarms(this, fn, {
      errorRatePercent: errorRate.numberValue,
      iteratorAgeMs: iteratorAge.numberValue,
      failedRecords: failedRecordsThreshold.numberValue,
    });
    enrichmentOutputs(this, { fn, role, mapping, logs, ...queues });
  }
}
