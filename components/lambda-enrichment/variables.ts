/**
 * lambda-enrichment's variables, each declared once (components/shared/variables.ts), with the
 * cross-variable rules beside the variables they relate. The handler's names, limits and patterns
 * come from lambda-src's own declaration (HANDLER, lambda-src/src/config.ts).
 */
import { RETENTION_HOURS } from '../shared/kinesis-stream';
import { logRetentionVariable } from '../shared/logs';
import { RESOURCE_NAME, SECURITY_GROUP_ID, SUBNET_ID, VPC_ID } from '../shared/patterns';
import type { PipelineStack } from '../shared/pipeline-stack';
import { destinationStream, sourceStream } from '../shared/streams';
import {
  crossVariableRule,
  numberVariable,
  REQUIRED,
  stringListVariable,
  stringVariable,
  varRef,
} from '../shared/variables';
import { CACHE_MAX_BYTES, HANDLER, REPLAY_MARGIN_SECONDS } from './contract';
import { DAX_TLS_PORT } from './network';

const { limits: LIMITS, patterns: PATTERNS } = HANDLER;

/** Declares the component's variables in `stack`; returns them by role, and the rules' messages. */
export function enrichmentVariables(stack: PipelineStack) {
  // --- wiring: names of other components' resources --------------------------------------
  const source = sourceStream(stack, 'kinesis-ingest output stream_name');
  const destination = destinationStream(stack, 'kinesis-output output stream_name');
  const sourceRetention = numberVariable(stack, 'source_stream_retention_hours', {
    description:
      'Retention of the source stream in hours (kinesis-ingest retention_period_hours; the catalog wires both from settings.ingest_retention_period_hours), the bound for maximum_record_age_seconds.',
    default: REQUIRED,
    min: RETENTION_HOURS.min,
    max: RETENTION_HOURS.max,
    unit: 'hours',
  });
  const table = stringVariable(stack, 'lookup_table_name', {
    description: 'Name of the customer lookup table (dynamodb-lookup output table_name).',
    default: REQUIRED,
    pattern: PATTERNS.lookupTableName,
  });
  const efoConsumerName = stringVariable(stack, 'efo_consumer_name', {
    description:
      'Registered enhanced fan-out consumer of the source stream to read through (kinesis-ingest efo_consumer_names); null = poll the stream.',
    default: null,
    pattern: RESOURCE_NAME,
  });
  const daxEndpoint = stringVariable(stack, 'dax_endpoint', {
    description: 'DAX endpoint (dynamodb-lookup output dax_endpoint, daxs://...); "" = read DynamoDB directly.',
    default: '',
    pattern: { regex: `(${PATTERNS.daxEndpoint.regex})?`, hint: `empty or ${PATTERNS.daxEndpoint.hint}` },
  });
  const daxClusterArn = stringVariable(stack, 'dax_cluster_arn', {
    description: 'ARN of the DAX cluster (dynamodb-lookup output dax_cluster_arn), for dax:BatchGetItem.',
    default: '',
    pattern: {
      regex: '(arn:aws[a-z-]*:dax:[a-z0-9-]+:[0-9]{12}:cache/[A-Za-z0-9-]{1,20})?',
      hint: 'empty or a DAX cluster ARN',
    },
  });
  const vpcId = stringVariable(stack, 'vpc_id', {
    description: "VPC of vpc_subnet_ids (for the function's own security group).",
    default: null,
    pattern: VPC_ID,
  });
  const subnets = stringListVariable(stack, 'vpc_subnet_ids', {
    description: 'Private subnets to run the function in (needed to reach DAX); [] = no VPC.',
    default: [],
    pattern: SUBNET_ID,
    maxItems: 16,
  });
  const extraGroups = stringListVariable(stack, 'vpc_security_group_ids', {
    description: 'Extra security groups for the function in a VPC.',
    default: [],
    pattern: SECURITY_GROUP_ID,
    maxItems: 4,
  });
  const optionalGroup = { regex: `(${SECURITY_GROUP_ID.regex})?`, hint: `empty or ${SECURITY_GROUP_ID.hint}` };
  const daxClientGroup = stringVariable(stack, 'dax_client_security_group_id', {
    description:
      'The DAX client security group (dynamodb-lookup output dax_client_security_group_id), attached to the function: the DAX cluster admits only this group. Required with dax_endpoint.',
    default: '',
    pattern: optionalGroup,
  });
  const daxClusterGroup = stringVariable(stack, 'dax_security_group_id', {
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
  const daxRule = crossVariableRule(stack, {
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
  const vpcRule = crossVariableRule(stack, {
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
  const runtime = stringVariable(stack, 'runtime', {
    description: 'Node.js runtime.',
    default: 'nodejs22.x',
    allowed: ['nodejs22.x', 'nodejs24.x'],
  });
  const memory = numberVariable(stack, 'memory_size_mb', {
    description: 'Function memory (and so CPU), in MB.',
    default: 256,
    min: 128,
    max: 10_240,
    unit: 'MB',
  });
  const timeout = numberVariable(stack, 'timeout_seconds', {
    description: 'Function timeout per batch, in seconds.',
    default: 60,
    min: 3,
    max: 900,
    unit: 'seconds',
  });
  const reserved = numberVariable(stack, 'reserved_concurrency', {
    description: 'Reserved concurrent executions (caps shards × parallelization factor); -1 = unreserved.',
    default: -1,
    min: -1,
    max: 1000,
  });
  const cacheEntries = numberVariable(stack, 'cache_max_entries', {
    description: 'Profiles kept in the in-process LRU cache (CACHE_MAX_ENTRIES).',
    ...LIMITS.cacheMaxEntries,
  });
  const cacheBytes = numberVariable(stack, 'cache_max_bytes', {
    description: 'Byte bound of the in-process profile cache (CACHE_MAX_BYTES).',
    default: CACHE_MAX_BYTES.default,
    min: CACHE_MAX_BYTES.min,
    max: CACHE_MAX_BYTES.max,
    unit: 'bytes',
  });
  // The other half is the runtime, the batch being processed and the SDK's buffers; a cache
  // that can outgrow the function ends every invocation in an out-of-memory crash.
  crossVariableRule(stack, {
    variables: ['cache_max_bytes', 'memory_size_mb'],
    message: 'cache_max_bytes: must be at most half of memory_size_mb (memory_size_mb × 524288 bytes)',
    hcl: { on: cacheBytes, condition: 'var.cache_max_bytes <= var.memory_size_mb * 1048576 / 2' },
    rego: 'vars.cache_max_bytes > vars.memory_size_mb * 524288',
  });
  const cacheTtl = numberVariable(stack, 'cache_ttl_seconds', {
    description: 'How long a cached profile is trusted (CACHE_TTL_SECONDS).',
    ...LIMITS.cacheTtlSeconds,
    unit: 'seconds',
  });
  const maxRecordBytes = numberVariable(stack, 'max_record_bytes', {
    description: 'Largest record accepted; larger ones go to the DLQ (MAX_RECORD_BYTES).',
    ...LIMITS.maxRecordBytes,
    unit: 'bytes',
  });
  const logLevel = stringVariable(stack, 'log_level', {
    description: 'Powertools log level.',
    default: 'INFO',
    allowed: HANDLER.logLevels,
  });
  const retentionDays = logRetentionVariable(stack);

  // --- event source mapping ----------------------------------------------------------------
  const batchSize = numberVariable(stack, 'batch_size', {
    // 500 rather than Lambda's 100: lookups are batched per invocation, so larger batches mean
    // far fewer DynamoDB requests (bench/lambda-enrichment.ts: 6.7x fewer than the blueprint's
    // handler at 100, 23.7x at 500) while one batch still fits comfortably in the timeout.
    description: 'Records per invocation.',
    default: 500,
    min: 1,
    max: 10_000,
  });
  const batchingWindow = numberVariable(stack, 'batching_window_seconds', {
    description: 'Longest wait to fill a batch, in seconds.',
    default: 1,
    min: 0,
    max: 300,
    unit: 'seconds',
  });
  const startingPosition = stringVariable(stack, 'starting_position', {
    description: 'Where a new mapping starts reading.',
    default: 'LATEST',
    allowed: ['LATEST', 'TRIM_HORIZON'],
  });
  const parallelization = numberVariable(stack, 'parallelization_factor', {
    description: 'Concurrent batches per shard (order kept per partition key).',
    default: 1,
    min: 1,
    max: 10,
  });
  const retries = numberVariable(stack, 'maximum_retry_attempts', {
    description:
      'Retries of a failed batch before the mapping sends it to the on-failure queue (finite: -1/infinite is refused).',
    default: 3,
    min: 0,
    max: 10_000,
  });
  const maxRecordAge = numberVariable(stack, 'maximum_record_age_seconds', {
    description: 'Records older than this go to the on-failure queue instead of being retried (finite).',
    default: 3600,
    min: 60,
    max: 604_800,
    unit: 'seconds',
  });
  // Cross-variable rule (OpenTofu >= 1.8): the on-failure message only names the records, so
  // they must still be in the stream when `atmos replay-failures` reads them. Atmos checks it
  // too (the generated policy), with source_stream_retention_hours wired by the catalog.
  crossVariableRule(stack, {
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
  const errorRate = numberVariable(stack, 'error_rate_alarm_threshold_percent', {
    description: "Alarm when more than this share of invocations fail, in percent (the blueprint's 1 by default).",
    default: 1,
    min: 0,
    max: 100,
    integer: false,
    unit: 'percent',
  });
  const failedRecordsThreshold = numberVariable(stack, 'failed_records_alarm_threshold', {
    description:
      "Alarm when more records than this are reported as batch item failures in a minute (the handler's FailedRecords metric).",
    default: 0,
    min: 0,
    max: 1_000_000,
  });
  const iteratorAge = numberVariable(stack, 'iterator_age_alarm_threshold_ms', {
    description: 'Alarm when the mapping is this far behind the stream, in ms.',
    default: 60_000,
    min: 1000,
    max: 604_800_000,
    unit: 'ms',
  });
  return {
    source,
    destination,
    table,
    efoConsumerName,
    daxEndpoint,
    daxClusterArn,
    vpcId,
    subnets,
    extraGroups,
    daxClientGroup,
    daxClusterGroup,
    daxRule,
    vpcRule,
    runtime,
    memory,
    timeout,
    reserved,
    cacheEntries,
    cacheBytes,
    cacheTtl,
    maxRecordBytes,
    logLevel,
    retentionDays,
    batchSize,
    batchingWindow,
    startingPosition,
    parallelization,
    retries,
    maxRecordAge,
    errorRate,
    failedRecordsThreshold,
    iteratorAge,
  };
}
