/**
 * lambda-enrichment as synthesized: every variable lands on the attribute it documents, the
 * event source mapping has the safe defaults, the role is least-privilege, alarms watch this
 * function and queue by name.
 */
import { describe, expect, it } from 'vitest';
import { alarmsOf, onlyResource, readComponent, resourcesOf } from '../support/synth';

const tf = readComponent('lambda-enrichment');
const [, fn] = onlyResource(tf, 'aws_lambda_function');
const [, mapping] = onlyResource(tf, 'aws_lambda_event_source_mapping');
const [, queue] = onlyResource(tf, 'aws_sqs_queue');

type Statement = { sid: string; actions: string[]; resources: string[]; effect: string };
const policy = tf.data!.aws_iam_policy_document!.role_permissions as {
  statement: Statement[];
  dynamic: { statement: { for_each: string; content: Statement }[] };
};
const statement = (sid: string) => policy.statement.find((s) => s.sid === sid);
const dynamicStatement = (sid: string) => policy.dynamic.statement.find((s) => s.content.sid === sid);

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

  it('bisects failing batches, reports item failures and sends what still fails to the DLQ', () => {
    expect(mapping.bisect_batch_on_function_error).toBe(true);
    expect(mapping.function_response_types).toEqual(['ReportBatchItemFailures']);
    expect(mapping.destination_config).toEqual({ on_failure: { destination_arn: '${aws_sqs_queue.dlq.arn}' } });
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
    const message = (name: string) => tf.variable[name]!.validation![0]!.error_message;
    expect(message('maximum_retry_attempts')).toBe('Invalid value for maximum_retry_attempts: must be a whole number from 0 to 10000.');
    expect(message('maximum_record_age_seconds')).toBe(
      'Invalid value for maximum_record_age_seconds: must be a whole number from 60 to 604800 seconds.',
    );
    expect(message('parallelization_factor')).toBe('Invalid value for parallelization_factor: must be a whole number from 1 to 10.');
    expect(message('batch_size')).toBe('Invalid value for batch_size: must be a whole number from 1 to 10000.');
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
      CACHE_TTL_SECONDS: '${var.cache_ttl_seconds}',
      MAX_RECORD_BYTES: '${var.max_record_bytes}',
      POWERTOOLS_SERVICE_NAME: '${local.label_id}',
      POWERTOOLS_METRICS_NAMESPACE: 'StreamingPipeline/Enrichment',
      POWERTOOLS_LOG_LEVEL: '${var.log_level}',
    });
  });

  it('joins a VPC only when subnets are given, with its own HTTPS-only group', () => {
    expect(fn.vpc_config).toEqual({
      subnet_ids: '${var.vpc_subnet_ids}',
      security_group_ids: '${concat(aws_security_group.function_sg[*].id, var.vpc_security_group_ids)}',
    });
    const sg = resourcesOf(tf, 'aws_security_group').function_sg!;
    expect(sg.count).toBe('${length(var.vpc_subnet_ids) > 0 ? 1 : 0}');
    const egress = resourcesOf(tf, 'aws_vpc_security_group_egress_rule').function_https_egress!;
    expect(egress).toMatchObject({ ip_protocol: 'tcp', from_port: 443, to_port: 443 });
    expect(resourcesOf(tf, 'aws_vpc_security_group_ingress_rule')).toEqual({});
  });
});

describe('dead-letter queue', () => {
  it('is encrypted, keeps messages 14 days, refuses non-TLS access and is deletion-guarded', () => {
    expect(queue.sqs_managed_sse_enabled).toBe(true);
    expect(queue.message_retention_seconds).toBe(1_209_600);
    const doc = tf.data!.aws_iam_policy_document!.dlq_policy_document as { statement: Record<string, unknown>[] };
    expect(doc.statement).toEqual([
      {
        sid: 'DenyInsecureTransport',
        effect: 'Deny',
        actions: ['sqs:*'],
        resources: ['${aws_sqs_queue.dlq.arn}'],
        principals: [{ type: '*', identifiers: ['*'] }],
        condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
      },
    ]);
    expect(resourcesOf(tf, 'terraform_data').dlq_deletion_guard).toMatchObject({
      input: { protected: '${var.deletion_protection}' },
      triggers_replace: { protected_id: '${aws_sqs_queue.dlq.arn}' },
    });
  });
});

describe('role', () => {
  const arn = (service: string, resource: string) =>
    `arn:\${data.aws_partition.partition.partition}:${service}:\${var.region}:\${data.aws_caller_identity.caller.account_id}:${resource}`;

  it('grants exact actions on exact resources', () => {
    expect(statement('ReadSourceStream')!.resources).toEqual(['${local.source_stream_arn}']);
    expect(statement('ReadSourceStream')!.actions).not.toContain('kinesis:PutRecords');
    expect(statement('WriteDestinationStream')).toMatchObject({ actions: ['kinesis:PutRecords'], resources: ['${local.destination_stream_arn}'] });
    expect(tf.locals?.destination_stream_arn).toBe(arn('kinesis', 'stream/${var.destination_stream_name}'));
    expect(statement('LookupProfiles')).toMatchObject({
      actions: ['dynamodb:BatchGetItem'],
      resources: [arn('dynamodb', 'table/${var.lookup_table_name}')],
    });
    expect(statement('DeadLetterQueue')).toMatchObject({ actions: ['sqs:SendMessage'], resources: ['${aws_sqs_queue.dlq.arn}'] });
    expect(statement('WriteLogs')!.resources).toEqual(['${aws_cloudwatch_log_group.log_group.arn}:*']);
  });

  it('adds EFO, DAX, VPC and customer-key statements only when those are configured', () => {
    expect(dynamicStatement('ReadThroughEfoConsumer')!.for_each).toBe('${var.efo_consumer_name != null ? [1] : []}');
    expect(dynamicStatement('LookupProfilesThroughDax')).toMatchObject({
      for_each: '${var.dax_endpoint != "" ? [1] : []}',
      content: { actions: ['dax:BatchGetItem'], resources: ['${var.dax_cluster_arn}'] },
    });
    expect(dynamicStatement('VpcNetworkInterfaces')!.for_each).toBe('${length(var.vpc_subnet_ids) > 0 ? [1] : []}');
    expect(dynamicStatement('DecryptSourceStream')!.content.resources).toEqual(['${var.source_stream_kms_key_arn}']);
    expect(dynamicStatement('EncryptDestinationStream')!.content.actions).toEqual(['kms:GenerateDataKey']);
  });

  it('uses "*" resources only for X-Ray and VPC network interfaces', () => {
    const all = [...policy.statement, ...policy.dynamic.statement.map((d) => d.content)];
    const wildcard = all.filter((s) => s.resources.includes('*')).map((s) => s.sid);
    expect(wildcard.sort()).toEqual(['Tracing', 'VpcNetworkInterfaces']);
    for (const s of all) for (const a of s.actions) expect(a).not.toMatch(/\*/);
  });
});

describe('alarms', () => {
  const alarms = alarmsOf(tf);

  it('error rate > 1% over this function', () => {
    const alarm = alarms.error_rate_alarm!;
    expect(alarm.threshold).toBe('${var.error_rate_alarm_threshold_percent}');
    expect(tf.variable.error_rate_alarm_threshold_percent!.default).toBe(1);
    const queries = alarm.metric_query as { id: string; expression?: string; metric?: { metric_name: string; dimensions: object } }[];
    expect(queries.find((q) => q.id === 'result')!.expression).toBe('IF(invocations > 0, 100 * errors / invocations, 0)');
    for (const id of ['errors', 'invocations']) {
      expect(queries.find((q) => q.id === id)!.metric!.dimensions).toEqual({ FunctionName: '${aws_lambda_function.function.function_name}' });
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

  it('DLQ messages > 0 on this queue, by name', () => {
    expect(alarms.dlq_alarm).toMatchObject({
      namespace: 'AWS/SQS',
      metric_name: 'ApproximateNumberOfMessagesVisible',
      threshold: 0,
      comparison_operator: 'GreaterThanThreshold',
      dimensions: { QueueName: '${aws_sqs_queue.dlq.name}' },
    });
  });
});
