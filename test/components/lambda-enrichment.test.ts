/**
 * lambda-enrichment as synthesized: every variable lands on the attribute it documents, the
 * event source mapping has the safe defaults, the role is least-privilege, alarms watch this
 * function and queues by name, and the failed-records alarm watches exactly the metric the real
 * handler (lambda-src) emits.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { describe, expect, it } from 'vitest';
import {
  CACHE_MAX_BYTES,
  ENRICHMENT_METRICS,
  REPLAY_MARGIN_SECONDS,
} from '../../components/lambda-enrichment/contract';
import * as lambdaConfig from '../../lambda-src/src/config';
import { createHandler } from '../../lambda-src/src/runtime';
import { FAST_RETRY, kinesisEvent } from '../../lambda-src/test/helpers';
import { policyDocument } from '../support/iam-policy';
import { REPO_ROOT } from '../support/paths';
import { alarmsOf, onlyResource, readComponent, resourcesOf } from '../support/synth';
import { validationOf } from '../support/validations';
import { lambdaEnrichmentVars } from '../support/lambda-vars';
import { TerraformEvaluator, type Value } from '../support/terraform-expr';

const tf = readComponent('lambda-enrichment');
const [, fn] = onlyResource(tf, 'aws_lambda_function');
const [, mapping] = onlyResource(tf, 'aws_lambda_event_source_mapping');
const queues = resourcesOf(tf, 'aws_sqs_queue');

const policy = policyDocument(tf, 'role_permissions');
const statement = (sid: string) => policy.fixed(sid);
const dynamicStatement = (sid: string) => policy.dynamic(sid);

describe('event source mapping', () => {
  it.each([
    ['batch_size', 'batch_size'],
    ['maximum_batching_window_in_seconds', 'batching_window_seconds'],
    ['starting_position', 'starting_position'],
    ['parallelization_factor', 'parallelization_factor'],
    ['maximum_retry_attempts', 'maximum_retry_attempts'],
    ['maximum_record_age_in_seconds', 'maximum_record_age_seconds'],
  ])('%s comes from var.%s', (attribute, variable) => {
    expect(mapping[attribute]).toBe(`\${var.${variable}}`);
    expect(tf.variable[variable], variable).toBeDefined();
  });

  it('bisects failing batches, reports item failures and sends what still fails to its own on-failure queue', () => {
    expect(mapping.bisect_batch_on_function_error).toBe(true);
    expect(mapping.function_response_types).toEqual(['ReportBatchItemFailures']);
    expect(mapping.destination_config).toEqual({ on_failure: { destination_arn: '${aws_sqs_queue.failures.arn}' } });
    expect(mapping.function_name).toBe('${aws_lambda_function.function.arn}');
  });

  it('reads through the EFO consumer when one is named, else the stream', () => {
    expect(mapping.event_source_arn).toBe(
      '${var.efo_consumer_name != null ? data.aws_kinesis_stream_consumer.efo_consumer[0].arn : local.source_stream_arn}',
    );
    expect(tf.locals?.source_stream_arn).toBe(
      'arn:${data.aws_partition.partition.partition}:kinesis:${var.region}:${data.aws_caller_identity.caller.account_id}:stream/${var.source_stream_name}',
    );
  });

  it('keeps retries and record age finite, with ranges that name the variable', () => {
    const message = (name: string) => validationOf(tf, name, `${name}: must be a whole number`).error_message;
    const got = (name: string) => `(got \${jsonencode(var.${name})})`;
    expect(message('maximum_retry_attempts')).toBe(
      `maximum_retry_attempts: must be a whole number from 0 to 10000 ${got('maximum_retry_attempts')}`,
    );
    expect(message('maximum_record_age_seconds')).toBe(
      `maximum_record_age_seconds: must be a whole number from 60 to 604800 seconds ${got('maximum_record_age_seconds')}`,
    );
    expect(message('parallelization_factor')).toBe(
      `parallelization_factor: must be a whole number from 1 to 10 ${got('parallelization_factor')}`,
    );
    expect(message('source_stream_retention_hours')).toBe(
      `source_stream_retention_hours: must be a whole number from 24 to 8760 hours ${got('source_stream_retention_hours')}`,
    );
    expect(message('batch_size')).toBe(`batch_size: must be a whole number from 1 to 10000 ${got('batch_size')}`);
  });
});

describe('record age versus the ingest stream retention', () => {
  const ageRule = validationOf(tf, 'maximum_record_age_seconds', 'maximum_record_age_seconds: must be from 60 to');

  it('is a Terraform validation of maximum_record_age_seconds that reads source_stream_retention_hours', () => {
    expect(ageRule.condition).toBe(
      `\${var.maximum_record_age_seconds <= var.source_stream_retention_hours * 3600 - ${REPLAY_MARGIN_SECONDS}}`,
    );
    expect(ageRule.error_message).toBe(
      'maximum_record_age_seconds: must be from 60 to source_stream_retention_hours × 3600 − 21600 seconds ' +
        '(the ingest stream keeps records source_stream_retention_hours; 6 h must be left to replay the on-failure queue) ' +
        '(got maximum_record_age_seconds = ${jsonencode(var.maximum_record_age_seconds)}, source_stream_retention_hours = ${jsonencode(var.source_stream_retention_hours)})',
    );
    expect(REPLAY_MARGIN_SECONDS).toBe(6 * 3600);
    expect(tf.variable.source_stream_retention_hours!.default).toBeUndefined();
  });

  it('the generated OPA policy checks the same bound, over the same defaults, with the same message', () => {
    const rego = readFileSync(join(REPO_ROOT, 'stacks', 'schemas', 'opa', 'lambda-enrichment.variables.rego'), 'utf8');
    expect(rego).toContain(
      `\tvars.maximum_record_age_seconds > (vars.source_stream_retention_hours * 3600) - ${REPLAY_MARGIN_SECONDS}\n`,
    );
    expect(rego).toContain('\tvars.cache_max_bytes > vars.memory_size_mb * 524288\n');
    const defaults = JSON.parse(rego.match(/^defaults := (.*)$/m)![1]!) as Record<string, unknown>;
    expect(defaults.cache_max_bytes).toBe(tf.variable.cache_max_bytes!.default);
    expect(defaults.memory_size_mb).toBe(tf.variable.memory_size_mb!.default);
    expect(rego).toContain(JSON.stringify(ageRule.error_message.replace(/ \(got .*\)$/, '')));
  });

  it('the catalog wires the retention from the one stack setting kinesis-ingest uses too', () => {
    const catalog = (name: string) => readFileSync(join(REPO_ROOT, 'stacks', 'catalog', `${name}.yaml`), 'utf8');
    const fromSetting = "!template '{{ .settings.ingest_retention_period_hours }}'";
    expect(catalog('lambda-enrichment')).toContain(`source_stream_retention_hours: ${fromSetting}`);
    expect(catalog('kinesis-ingest')).toContain(`retention_period_hours: ${fromSetting}`);
    expect(catalog('lambda-enrichment')).toMatch(
      /schema_type: opa\n\s+schema_path: "lambda-enrichment.variables.rego"/,
    );
  });
});

describe('function', () => {
  it.each([
    ['memory_size', '${var.memory_size_mb}'],
    ['timeout', '${var.timeout_seconds}'],
    ['reserved_concurrent_executions', '${var.reserved_concurrency}'],
    ['runtime', '${var.runtime}'],
  ])('%s = %s', (attribute, value) => expect(fn[attribute]).toBe(value));

  it('runs the bundled handler on arm64 with X-Ray and JSON logs into its own log group', () => {
    expect(fn.architectures).toEqual(['arm64']);
    expect(fn.handler).toBe('index.handler');
    expect(fn.filename).toBe('${path.module}/dist/enrichment.zip');
    expect(fn.source_code_hash).toBe('${filebase64sha256("${path.module}/dist/enrichment.zip")}');
    expect(fn.tracing_config).toEqual({ mode: 'Active' });
    expect(fn.logging_config).toEqual({ log_format: 'JSON', log_group: '${aws_cloudwatch_log_group.log_group.name}' });
    const [, logs] = onlyResource(tf, 'aws_cloudwatch_log_group');
    expect(logs.name).toBe('/aws/lambda/${local.label_id}');
    expect(logs.retention_in_days).toBe('${var.log_retention_days}');
  });

  it('passes the handler exactly its environment contract, each value from its variable', () => {
    expect((fn.environment as { variables: Record<string, string> }).variables).toEqual({
      LOOKUP_TABLE_NAME: '${var.lookup_table_name}',
      OUTPUT_STREAM_NAME: '${var.destination_stream_name}',
      DLQ_URL: '${aws_sqs_queue.dlq.url}',
      DAX_ENDPOINT: '${var.dax_endpoint}',
      CACHE_MAX_ENTRIES: '${var.cache_max_entries}',
      CACHE_MAX_BYTES: '${var.cache_max_bytes}',
      CACHE_TTL_SECONDS: '${var.cache_ttl_seconds}',
      MAX_RECORD_BYTES: '${var.max_record_bytes}',
      POWERTOOLS_SERVICE_NAME: '${local.label_id}',
      POWERTOOLS_METRICS_NAMESPACE: 'StreamingPipeline/Enrichment',
      POWERTOOLS_LOG_LEVEL: '${var.log_level}',
    });
  });

  it('joins a VPC only when subnets are given, with its own group: HTTPS out, and DAX over TLS with DAX', () => {
    expect(fn.vpc_config).toEqual({
      subnet_ids: '${var.vpc_subnet_ids}',
      security_group_ids:
        '${distinct(concat(aws_security_group.function_sg[*].id, var.dax_client_security_group_id == "" ? [] : [var.dax_client_security_group_id], var.vpc_security_group_ids))}',
    });
    const sg = resourcesOf(tf, 'aws_security_group').function_sg!;
    expect(sg.count).toBe('${length(var.vpc_subnet_ids) > 0 ? 1 : 0}');
    const egress = resourcesOf(tf, 'aws_vpc_security_group_egress_rule');
    expect(Object.keys(egress).sort()).toEqual(['function_dax_egress', 'function_https_egress']);
    expect(egress.function_https_egress).toMatchObject({
      ip_protocol: 'tcp',
      from_port: 443,
      to_port: 443,
      cidr_ipv4: '0.0.0.0/0',
    });
    // daxs:// listens on 9111: only to the DAX cluster's own group, never to an address range.
    expect(egress.function_dax_egress).toMatchObject({
      count: '${length(var.vpc_subnet_ids) > 0 && var.dax_endpoint != "" && var.dax_security_group_id != "" ? 1 : 0}',
      security_group_id: '${aws_security_group.function_sg[0].id}',
      referenced_security_group_id: '${var.dax_security_group_id}',
      ip_protocol: 'tcp',
      from_port: 9111,
      to_port: 9111,
    });
    expect(egress.function_dax_egress).not.toHaveProperty('cidr_ipv4');
    expect(resourcesOf(tf, 'aws_vpc_security_group_ingress_rule')).toEqual({});
  });

  it('requires the DAX client group and the DAX cluster group together with DAX (precondition and JSON Schema)', () => {
    const pre = (fn.lifecycle as { precondition: { condition: string; error_message: string }[] }).precondition;
    expect(pre).toContainEqual({
      condition:
        '${var.dax_endpoint == "" ? true : var.dax_cluster_arn != "" && length(var.vpc_subnet_ids) > 0 && var.vpc_id != null && var.dax_client_security_group_id != "" && var.dax_security_group_id != ""}',
      error_message:
        'dax_endpoint: needs dax_cluster_arn, vpc_subnet_ids, vpc_id, dax_client_security_group_id, dax_security_group_id (DAX is reachable only inside the VPC and admits only its client group)',
    });
    const schema = JSON.parse(
      readFileSync(join(REPO_ROOT, 'stacks', 'schemas', 'jsonschema', 'lambda-enrichment.json'), 'utf8'),
    ) as {
      properties: { vars: { allOf: { if: unknown; then: { required: string[] } }[] } };
    };
    const daxRule = schema.properties.vars.allOf.find((r) => JSON.stringify(r.if).includes('dax_endpoint'))!;
    expect(daxRule.then.required).toEqual(
      expect.arrayContaining(['dax_client_security_group_id', 'dax_security_group_id']),
    );
  });

  it('bounds the profile cache by bytes: cache_max_bytes → CACHE_MAX_BYTES, 0-1073741824, default 64 MiB, at most half the memory', () => {
    const v = tf.variable.cache_max_bytes!;
    expect(v.default).toBe(67_108_864);
    expect(validationOf(tf, 'cache_max_bytes', 'cache_max_bytes: must be a whole number').error_message).toBe(
      'cache_max_bytes: must be a whole number from 0 to 1073741824 bytes (got ${jsonencode(var.cache_max_bytes)})',
    );
    expect(validationOf(tf, 'cache_max_bytes', 'cache_max_bytes: must be at most half')).toEqual({
      condition: '${var.cache_max_bytes <= var.memory_size_mb * 1048576 / 2}',
      error_message:
        'cache_max_bytes: must be at most half of memory_size_mb (memory_size_mb × 524288 bytes) ' +
        '(got cache_max_bytes = ${jsonencode(var.cache_max_bytes)}, memory_size_mb = ${jsonencode(var.memory_size_mb)})',
    });
    // The default fits the default function: 64 MiB of 256 MB.
    expect(v.default as number).toBeLessThanOrEqual(((tf.variable.memory_size_mb!.default as number) * 1_048_576) / 2);
    // One declaration: the handler's own limits.
    expect(lambdaConfig.LIMITS.cacheMaxBytes).toBe(CACHE_MAX_BYTES);
    expect(CACHE_MAX_BYTES).toEqual({ min: 0, max: 1_073_741_824, default: 67_108_864 });
  });
});

describe('queues', () => {
  it('are exactly the DLQ (malformed records) and the on-failure queue, apart', () => {
    expect(Object.keys(queues).sort()).toEqual(['dlq', 'failures']);
    expect(queues.dlq!.name).toBe('${local.label_id}-dlq');
    expect(queues.failures!.name).toBe('${local.label_id}-failures');
  });

  it.each(['dlq', 'failures'])(
    '%s: encrypted, keeps messages 14 days, refuses non-TLS access, deletion-guarded',
    (id) => {
      const queue = queues[id]!;
      expect(queue.sqs_managed_sse_enabled).toBe(true);
      expect(queue.message_retention_seconds).toBe(1_209_600);
      expect(resourcesOf(tf, 'aws_sqs_queue_policy')[`${id}_policy`]).toMatchObject({
        queue_url: `\${aws_sqs_queue.${id}.url}`,
        policy: `\${data.aws_iam_policy_document.${id}_policy_document.json}`,
      });
      expect(policyDocument(tf, `${id}_policy_document`).fixedBlocks()).toEqual([
        {
          sid: 'DenyInsecureTransport',
          effect: 'Deny',
          actions: ['sqs:*'],
          resources: [`\${aws_sqs_queue.${id}.arn}`],
          principals: [{ type: '*', identifiers: ['*'] }],
          condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
        },
      ]);
      expect(resourcesOf(tf, 'terraform_data')[`${id}_deletion_guard`]).toMatchObject({
        input: { protected: '${var.deletion_protection}' },
        triggers_replace: { protected_id: `\${aws_sqs_queue.${id}.arn}` },
      });
    },
  );

  it('outputs the on-failure queue URL and ARN', () => {
    expect(tf.output!.failures_queue_url!.value).toBe('${aws_sqs_queue.failures.url}');
    expect(tf.output!.failures_queue_arn!.value).toBe('${aws_sqs_queue.failures.arn}');
  });
});

describe('role', () => {
  const arn = (service: string, resource: string) =>
    `arn:\${data.aws_partition.partition.partition}:${service}:\${var.region}:\${data.aws_caller_identity.caller.account_id}:${resource}`;

  it('grants exact actions on exact resources', () => {
    expect(statement('ReadSourceStream')!.resources).toEqual(['${local.source_stream_arn}']);
    expect(statement('ReadSourceStream')!.actions).not.toContain('kinesis:PutRecords');
    expect(statement('WriteDestinationStream')).toMatchObject({
      actions: ['kinesis:PutRecords'],
      resources: ['${local.destination_stream_arn}'],
    });
    expect(tf.locals?.destination_stream_arn).toBe(arn('kinesis', 'stream/${var.destination_stream_name}'));
    expect(statement('LookupProfiles')).toMatchObject({
      actions: ['dynamodb:BatchGetItem'],
      resources: [arn('dynamodb', 'table/${var.lookup_table_name}')],
    });
    expect(statement('DeadLetterQueue')).toMatchObject({
      actions: ['sqs:SendMessage'],
      resources: ['${aws_sqs_queue.dlq.arn}'],
    });
    // The mapping sends on-failure records with the function's role: exactly SendMessage, on that queue.
    expect(statement('OnFailureDestination')).toEqual({
      sid: 'OnFailureDestination',
      effect: 'Allow',
      actions: ['sqs:SendMessage'],
      resources: ['${aws_sqs_queue.failures.arn}'],
    });
    const onFailureQueue = policy.blocks().filter((s) => s.resources!.includes('${aws_sqs_queue.failures.arn}'));
    expect(onFailureQueue.map((s) => s.sid)).toEqual(['OnFailureDestination']);
    expect(statement('WriteLogs')!.resources).toEqual(['${aws_cloudwatch_log_group.log_group.arn}:*']);
  });

  it('adds EFO, DAX, VPC and customer-key statements only when those are configured', () => {
    expect(dynamicStatement('ReadThroughEfoConsumer')!.forEach).toBe('${var.efo_consumer_name != null ? [1] : []}');
    expect(dynamicStatement('LookupProfilesThroughDax')).toMatchObject({
      forEach: '${var.dax_endpoint != "" ? [1] : []}',
      block: { actions: ['dax:BatchGetItem'], resources: ['${var.dax_cluster_arn}'] },
    });
    expect(dynamicStatement('VpcNetworkInterfaces')!.forEach).toBe('${length(var.vpc_subnet_ids) > 0 ? [1] : []}');
    expect(dynamicStatement('DecryptSourceStream')!.block.resources).toEqual(['${var.source_stream_kms_key_arn}']);
    expect(dynamicStatement('EncryptDestinationStream')!.block.actions).toEqual(['kms:GenerateDataKey']);
  });

  it('uses "*" resources only for X-Ray and VPC network interfaces', () => {
    const all = policy.blocks();
    const wildcard = all.filter((s) => s.resources!.includes('*')).map((s) => s.sid);
    expect(wildcard.sort()).toEqual(['Tracing', 'VpcNetworkInterfaces']);
    for (const s of all) for (const a of s.actions!) expect(a).not.toMatch(/\*/);
  });
});

describe('alarms', () => {
  const alarms = alarmsOf(tf);

  it('error rate > 1% over this function', () => {
    const alarm = alarms.error_rate_alarm!;
    expect(alarm.threshold).toBe('${var.error_rate_alarm_threshold_percent}');
    expect(tf.variable.error_rate_alarm_threshold_percent!.default).toBe(1);
    const queries = alarm.metric_query as {
      id: string;
      expression?: string;
      metric?: { metric_name: string; dimensions: object };
    }[];
    expect(queries.find((q) => q.id === 'result')!.expression).toBe(
      'IF(invocations > 0, 100 * errors / invocations, 0)',
    );
    for (const id of ['errors', 'invocations']) {
      expect(queries.find((q) => q.id === id)!.metric!.dimensions).toEqual({
        FunctionName: '${aws_lambda_function.function.function_name}',
      });
    }
  });

  it('iterator age > 1 minute on this function', () => {
    expect(alarms.iterator_age_alarm).toMatchObject({
      namespace: 'AWS/Lambda',
      metric_name: 'IteratorAge',
      statistic: 'Maximum',
      threshold: '${var.iterator_age_alarm_threshold_ms}',
      dimensions: { FunctionName: '${aws_lambda_function.function.function_name}' },
    });
  });

  it.each([
    ['dlq_alarm', 'dlq'],
    ['failures_alarm', 'failures'],
  ])('%s: messages > 0 on the %s queue, by name', (alarm, queue) => {
    expect(alarms[alarm]).toMatchObject({
      alarm_name: `\${local.label_id}-${queue}-messages`,
      namespace: 'AWS/SQS',
      metric_name: 'ApproximateNumberOfMessagesVisible',
      threshold: 0,
      comparison_operator: 'GreaterThanThreshold',
      dimensions: { QueueName: `\${aws_sqs_queue.${queue}.name}` },
    });
  });

  it('failed records > threshold (default 0) on the handler metric of this function', () => {
    expect(alarms.failed_records_alarm).toMatchObject({
      alarm_name: '${local.label_id}-failed-records',
      namespace: 'StreamingPipeline/Enrichment',
      metric_name: 'FailedRecords',
      statistic: 'Sum',
      period: 60,
      threshold: '${var.failed_records_alarm_threshold}',
      comparison_operator: 'GreaterThanThreshold',
      dimensions: { service: '${aws_lambda_function.function.function_name}' },
    });
    expect(tf.variable.failed_records_alarm_threshold!.default).toBe(0);
  });
});

/**
 * The failed-records alarm against what the real handler emits: lambda-src runs with the
 * function's synthesized environment (rendered for a dev stack) and real AWS clients pointed at
 * a closed port, so every lookup fails and every record is reported as a batch item failure; the
 * EMF document it prints is the metric CloudWatch would store.
 */
describe('failed-records alarm = the metric lambda-src emits', () => {
  type Emf = {
    _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  } & Record<string, unknown>;
  const VARS = lambdaEnrichmentVars();
  const evaluator = new TerraformEvaluator(tf, {
    vars: VARS,
    references: {
      'aws_sqs_queue.dlq.url': 'https://sqs.us-east-1.amazonaws.com/123456789012/acme-ue1-dev-enrichment-dlq',
    },
  });
  const functionName = String(evaluator.value(fn.function_name));
  const withFunction = new TerraformEvaluator(tf, {
    vars: VARS,
    references: { 'aws_lambda_function.function.function_name': functionName },
  });

  async function emitted(): Promise<Emf[]> {
    const env = (evaluator.value(fn.environment) as { variables: Record<string, Value> }).variables;
    const closed = () => ({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ connectionTimeout: 500 }),
    });
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      lines.push(...String(chunk).split('\n'));
      return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    try {
      const handler = createHandler({
        env: {
          ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])),
          POWERTOOLS_LOG_LEVEL: 'SILENT',
        },
        dynamodb: new DynamoDBClient(closed()),
        kinesis: new KinesisClient(closed()),
        sqs: new SQSClient(closed()),
        retry: FAST_RETRY,
      });
      const res = await handler(
        kinesisEvent(
          [0, 1, 2].map((i) => ({
            data: {
              event_id: `e-${i}`,
              customer_id: `c-${i}`,
              event_type: 'click',
              timestamp: '2026-01-01T00:00:00.000Z',
            },
          })),
        ),
      );
      // The handler reports only the lowest record it could not complete (the checkpoint).
      expect(res.batchItemFailures).toHaveLength(1);
    } finally {
      process.stdout.write = write;
    }
    return lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Emf);
  }

  it('same namespace, metric name, dimension names and values; the count is every record from the checkpoint on', async () => {
    const docs = await emitted();
    const doc = docs.find((d) =>
      d._aws.CloudWatchMetrics.some((m) => m.Metrics.some((x) => x.Name === 'FailedRecords')),
    );
    expect(doc, JSON.stringify(docs)).toBeDefined();
    const directive = doc!._aws.CloudWatchMetrics.find((m) => m.Metrics.some((x) => x.Name === 'FailedRecords'))!;
    const alarm = alarmsOf(tf).failed_records_alarm!;
    expect(alarm.namespace).toBe(directive.Namespace);
    expect(alarm.metric_name).toBe('FailedRecords');
    expect(ENRICHMENT_METRICS).toEqual({
      namespace: directive.Namespace,
      serviceDimension: 'service',
      failedRecords: 'FailedRecords',
    });
    // CloudWatch matches an alarm to a metric by the exact dimension set.
    const dims = withFunction.value(alarm.dimensions as Value) as Record<string, string>;
    expect(directive.Dimensions).toEqual([Object.keys(dims)]);
    for (const [name, value] of Object.entries(dims)) expect(doc![name]).toBe(value);
    expect(dims).toEqual({ service: 'acme-ue1-dev-enrichment' });
    // All three lookups failed: the checkpoint is the first record and none of the three was written.
    expect(doc!.FailedRecords).toBe(3);
  }, 30_000);
});

/**
 * The handler's environment contract is declared once, in lambda-src/src/config.ts: the component
 * sets exactly the variables the real handler reads, and its Terraform variables admit exactly
 * the values the handler accepts.
 */
describe('environment = lambda-src/src/config.ts', () => {
  const { ENV, LIMITS, LOG_LEVELS, loadConfig } = lambdaConfig;
  const environment = (fn.environment as { variables: Record<string, string> }).variables;
  /** Set by the Lambda runtime itself (reserved: a function cannot set them). */
  const RUNTIME_PROVIDED = new Set(['AWS_REGION']);
  const schema = JSON.parse(
    readFileSync(join(REPO_ROOT, 'stacks', 'schemas', 'jsonschema', 'lambda-enrichment.json'), 'utf8'),
  ) as {
    properties: {
      vars: { properties: Record<string, { minimum?: number; maximum?: number; enum?: string[]; pattern?: string }> };
    };
  };
  const varSchema = (name: string) => schema.properties.vars.properties[name]!;
  /** The Terraform variable an environment variable is set from (`${var.x}`). */
  const variableOf = (envName: string): string => {
    const m = /^\$\{var\.([a-z0-9_]+)\}$/.exec(environment[envName] ?? '');
    if (!m) throw new Error(`${envName} = ${environment[envName]} is not set from one variable`);
    return m[1]!;
  };
  const VARS = lambdaEnrichmentVars();
  /** The environment the component gives the function, as Terraform would evaluate it. */
  const evaluated = (vars: Record<string, Value>): Record<string, string> => {
    const evaluator = new TerraformEvaluator(tf, {
      vars: { ...VARS, ...vars },
      references: {
        'aws_sqs_queue.dlq.url': 'https://sqs.us-east-1.amazonaws.com/123456789012/acme-ue1-dev-enrichment-dlq',
      },
    });
    const env = (evaluator.value(fn.environment) as { variables: Record<string, Value> }).variables;
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  };

  it('the component sets every variable the handler reads, and no other', () => {
    const read = new Set<string>();
    for (const vars of [{}, { dax_endpoint: 'daxs://lookup.abc123.dax-clusters.us-east-1.amazonaws.com' }] as Record<
      string,
      Value
    >[]) {
      const env = new Proxy(evaluated(vars), {
        get(target, key) {
          if (typeof key === 'string') read.add(key);
          return target[key as string];
        },
      });
      createHandler({ env });
    }
    // Reads that do not happen at init (the DAX client's region is read on its first lookup):
    // every `env.NAME` / `env[ENV.name]` in lambda-src/src, and no process.env read but the default.
    const sources = ['config.ts', 'runtime.ts', 'processor.ts', 'dax-backend.ts', 'index.ts'].map((f) =>
      readFileSync(join(REPO_ROOT, 'lambda-src', 'src', f), 'utf8'),
    );
    for (const text of sources) {
      for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)) read.add(m[1]!);
      for (const m of text.matchAll(/\benv\[ENV\.([a-zA-Z]+)\]/g)) read.add(ENV[m[1] as keyof typeof ENV]);
      expect(text.replace('options.env ?? process.env', '')).not.toMatch(/process\.env[.[]/);
    }
    const handlerReads = [...read].filter((k) => !RUNTIME_PROVIDED.has(k)).sort();
    expect(handlerReads).toEqual(Object.values(ENV).sort());
    expect(Object.keys(environment).sort()).toEqual(handlerReads);
  });

  it.each(Object.entries(LIMITS))('%s: the variable has the range and default the handler accepts', (field, limit) => {
    const envName = ENV[field as keyof typeof LIMITS];
    const name = variableOf(envName);
    expect(tf.variable[name]!.default, name).toBe(limit.default);
    expect(varSchema(name), name).toMatchObject({ type: 'integer', minimum: limit.min, maximum: limit.max });
    // and the handler really takes the bounds (and refuses one beyond)
    const base = evaluated({});
    expect(() => loadConfig({ ...base, [envName]: String(limit.min) })).not.toThrow();
    expect(() => loadConfig({ ...base, [envName]: String(limit.max) })).not.toThrow();
    expect(() => loadConfig({ ...base, [envName]: String(limit.max + 1) })).toThrow(envName);
    if (limit.min > 0) expect(() => loadConfig({ ...base, [envName]: String(limit.min - 1) })).toThrow(envName);
  });

  it('log_level admits exactly the handler log levels', () => {
    expect(varSchema(variableOf(ENV.logLevel)).enum).toEqual([...LOG_LEVELS]);
    const base = evaluated({});
    for (const level of LOG_LEVELS) expect(() => loadConfig({ ...base, [ENV.logLevel]: level })).not.toThrow();
  });

  it.each([
    [
      'DAX_ENDPOINT',
      [
        '',
        'daxs://lookup.abc123.dax-clusters.us-east-1.amazonaws.com',
        'daxs://lookup.abc123.dax-clusters.us-east-1.amazonaws.com:9111',
        'dax://lookup.abc123.dax-clusters.us-east-1.amazonaws.com',
        'daxs://Lookup.example',
        'daxs://lookup.example/',
        'daxs://lookup.example:123456',
        'https://lookup.example',
      ],
    ],
    ['LOOKUP_TABLE_NAME', ['ab', 'abc', 'a.b_c-d', 'a b', 'x'.repeat(255), 'x'.repeat(256)]],
    ['OUTPUT_STREAM_NAME', ['a', 'a.b_c-d', 'a/b', 'x'.repeat(128), 'x'.repeat(129)]],
  ])('%s: the variable admits a value exactly when the handler accepts it', (envName, probes) => {
    const pattern = new RegExp(varSchema(variableOf(envName)).pattern!);
    const base = evaluated({});
    for (const probe of probes) {
      let accepted = true;
      try {
        // an empty value is "unset" to the handler, as to the component's optional variables
        loadConfig({ ...base, [envName]: probe });
      } catch {
        accepted = false;
      }
      expect(accepted, `${envName}=${JSON.stringify(probe)}`).toBe(pattern.test(probe));
    }
  });
});
