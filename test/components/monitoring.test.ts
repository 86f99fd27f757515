/**
 * The blueprint's Monitoring section, audited over every synthesized component and every deploy
 * stack: each alarm threshold from the blueprint table exists once, watches an existing metric
 * (right namespace, the dimensions of a resource the component creates) and notifies the
 * monitoring topic; the dashboard, evaluated by the real OpenTofu evaluator, is valid
 * CloudWatch dashboard JSON whose every metric points at a resource the pipeline creates.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENRICHMENT_METRICS } from '../../components/lambda-enrichment/contract';
import { COMPONENTS } from '../../components/registry';
import { describeStacksArgs } from '../../scripts/lib/atmos';
import { atmosJson, DEPLOY_STACKS } from '../support/atmos';
import { policyDocument } from '../support/iam-policy';
import { alarmsOf, readComponent, type TerraformJson } from '../support/synth';
import { tofuWorkspace } from '../support/tofu';

type Vars = Record<string, unknown>;
type Described = Record<string, { components: { terraform: Record<string, { vars: Vars }> } }>;
let described: Described;
beforeAll(async () => {
  described = await atmosJson<Described>(describeStacksArgs({ sections: ['vars'] }));
});
const vars = (stack: string, component: string) => described[stack]!.components.terraform[component]!.vars;
const label = (v: Vars) => [v.namespace, v.environment, v.stage, v.name].join('-');

/** The value an alarm attribute takes for a stack: literal, or the variable's stack/default value. */
function resolve(tf: TerraformJson, stackVars: Vars, value: unknown): unknown {
  const m = typeof value === 'string' ? value.match(/^\$\{var\.(\w+)\}$/) : null;
  if (!m) return value;
  return m[1]! in stackVars ? stackVars[m[1]!] : tf.variable[m[1]!]?.default;
}

const BLUEPRINT = [
  {
    what: 'Iterator Age > 1 minute (stream)',
    component: 'kinesis-ingest',
    alarm: 'iterator_age_alarm',
    namespace: 'AWS/Kinesis',
    metric: 'GetRecords.IteratorAgeMilliseconds',
    dims: ['StreamName'],
    threshold: 60_000,
  },
  {
    what: 'Iterator Age > 1 minute (Lambda)',
    component: 'lambda-enrichment',
    alarm: 'iterator_age_alarm',
    namespace: 'AWS/Lambda',
    metric: 'IteratorAge',
    dims: ['FunctionName'],
    threshold: 60_000,
  },
  {
    what: 'Write Throttling > 0',
    component: 'kinesis-ingest',
    alarm: 'write_throttle_alarm',
    namespace: 'AWS/Kinesis',
    metric: 'WriteProvisionedThroughputExceeded',
    dims: ['StreamName'],
    threshold: 0,
  },
  {
    what: 'Processing Lag > 5 minutes',
    component: 'kinesis-analytics',
    alarm: 'processing_lag_alarm',
    namespace: 'AWS/KinesisAnalytics',
    metric: 'millisBehindLatest',
    dims: ['Application', 'Flow', 'Id'],
    threshold: 300_000,
  },
  {
    what: 'Error Rate > 1%',
    component: 'lambda-enrichment',
    alarm: 'error_rate_alarm',
    namespace: 'AWS/Lambda',
    metric: 'Errors',
    dims: ['FunctionName'],
    threshold: 1,
  },
  {
    what: 'DLQ Messages > 0',
    component: 'lambda-enrichment',
    alarm: 'dlq_alarm',
    namespace: 'AWS/SQS',
    metric: 'ApproximateNumberOfMessagesVisible',
    dims: ['QueueName'],
    threshold: 0,
  },
  // Beyond the blueprint's table (issue 12): the mapping's on-failure queue, and partial batch
  // failures, which never count as Lambda Errors (the handler's own EMF metric, service dimension).
  {
    what: 'On-failure messages > 0',
    component: 'lambda-enrichment',
    alarm: 'failures_alarm',
    namespace: 'AWS/SQS',
    metric: 'ApproximateNumberOfMessagesVisible',
    dims: ['QueueName'],
    threshold: 0,
  },
  {
    what: 'Failed records > 0',
    component: 'lambda-enrichment',
    alarm: 'failed_records_alarm',
    namespace: 'StreamingPipeline/Enrichment',
    metric: 'FailedRecords',
    dims: ['service'],
    threshold: 0,
  },
] as const;

describe('blueprint alarms', () => {
  it.each(BLUEPRINT)('$what: $component/$alarm', (row) => {
    const tf = readComponent(row.component);
    const alarm = alarmsOf(tf)[row.alarm];
    expect(alarm, `${row.component} has no ${row.alarm}`).toBeDefined();
    const queries =
      (alarm!.metric_query as
        | { metric?: { namespace: string; metric_name: string; dimensions: Record<string, string> } }[]
        | undefined) ?? [];
    const metric = alarm!.metric_name
      ? {
          namespace: alarm!.namespace as string,
          metric_name: alarm!.metric_name as string,
          dimensions: alarm!.dimensions as Record<string, string>,
        }
      : queries.map((q) => q.metric).find((m) => m?.metric_name === row.metric);
    expect(metric?.namespace).toBe(row.namespace);
    expect(metric?.metric_name).toBe(row.metric);
    expect(Object.keys(metric!.dimensions).sort()).toEqual([...row.dims].sort());
    // Each dimension names a resource of this component (or a variable naming one), never a literal.
    for (const value of Object.values(metric!.dimensions)) {
      if (value === 'Input') continue; // the Flow dimension of Flink source metrics
      expect(value).toMatch(
        /\$\{(aws_[a-z0-9_]+\.[a-z0-9_]+\.(name|function_name)|replace\(var\.[a-z_]+|data\.aws_caller_identity)/,
      );
    }
    expect(String(alarm!.comparison_operator)).toMatch(/^GreaterThan/);
    expect(alarm!.alarm_actions).toBe('${var.alarm_topic_arn == "" ? [] : [var.alarm_topic_arn]}');
    for (const stack of DEPLOY_STACKS) {
      expect(resolve(tf, vars(stack, row.component), alarm!.threshold), `${stack} threshold`).toBe(row.threshold);
    }
  });

  it.each(DEPLOY_STACKS)('every component of stack %s notifies the monitoring topic', (stack) => {
    const monitoring = vars(stack, 'monitoring');
    const region = monitoring.region as string;
    for (const component of Object.keys(COMPONENTS)) {
      const topic = vars(stack, component).alarm_topic_arn as string;
      expect(topic, component).toMatch(new RegExp(`^arn:aws:sns:${region}:\\d{12}:${label(monitoring)}-alarms$`));
    }
  });
});

describe('dashboard', () => {
  const tf = readComponent('monitoring');
  const config = {
    variable: tf.variable,
    locals: tf.locals,
    output: { dashboard_body: { value: '${local.dashboard_body}' } },
  };
  const workspace = tofuWorkspace(config);
  const scratch = mkdtempSync(join(tmpdir(), 'dashboard-'));
  afterAll(() => {
    workspace.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each(DEPLOY_STACKS)(
    'stack %s: valid dashboard JSON whose every metric is a resource the pipeline creates',
    (stack) => {
      const varFile = join(scratch, `${stack}.tfvars.json`);
      writeFileSync(varFile, JSON.stringify(vars(stack, 'monitoring')));
      const body = JSON.parse(workspace.outputs(varFile).dashboard_body as string) as {
        widgets: {
          type: string;
          x: number;
          y: number;
          width: number;
          height: number;
          properties: { title: string; region: string; metrics: unknown[][] };
        }[];
      };

      const titles = body.widgets.map((w) => w.properties.title);
      expect(titles).toEqual([
        'Stream throughput (records/s)',
        'Processing latency p99',
        'Batch processing time',
        'Error count',
        'Consumer lag (ms)',
        'DLQ depth and delivery freshness',
      ]);

      // What the other components create in this stack, by the label convention.
      const ingest = label(vars(stack, 'kinesis-ingest'));
      const enrichment = label(vars(stack, 'lambda-enrichment'));
      const created = new Set<string>([
        ingest,
        label(vars(stack, 'kinesis-output')),
        enrichment,
        `${enrichment}-dlq`,
        `${enrichment}-failures`,
        label(vars(stack, 'kinesis-analytics')),
        label(vars(stack, 'firehose-s3')),
        label(vars(stack, 'firehose-opensearch')),
        ingest.replaceAll('-', '_'),
        'Input',
        ...(vars(stack, 'kinesis-ingest').efo_consumer_names as string[]),
      ]);
      let plotted = 0;
      for (const widget of body.widgets) {
        expect(widget.type).toBe('metric');
        expect(widget.properties.region).toBe(vars(stack, 'monitoring').region);
        for (const line of widget.properties.metrics) {
          if (typeof line[0] !== 'string') continue; // a metric-math expression line
          const [namespace, metricName, ...rest] = line as [string, string, ...unknown[]];
          // AWS metrics, and the enrichment handler's own (Powertools EMF) namespace.
          if (namespace !== ENRICHMENT_METRICS.namespace) expect(namespace).toMatch(/^AWS\//);
          expect(metricName).toBeTruthy();
          const dims = rest.filter((x): x is string => typeof x === 'string');
          expect(dims.length % 2, `${metricName} dimension pairs`).toBe(0);
          expect(dims.length, `${metricName} has no dimensions`).toBeGreaterThan(0);
          for (let i = 1; i < dims.length; i += 2) {
            expect(
              created.has(dims[i]!),
              `${widget.properties.title}: ${metricName} ${dims[i - 1]}=${dims[i]} is not created by the pipeline`,
            ).toBe(true);
          }
          plotted++;
        }
      }
      // One EFO lag line per consumer kinesis-ingest registers.
      const consumerLines = body.widgets[4]!.properties.metrics.filter(
        (l) => l[1] === 'SubscribeToShardEvent.MillisBehindLatest',
      );
      expect(consumerLines.map((l) => l[5])).toEqual(vars(stack, 'kinesis-ingest').efo_consumer_names);
      expect(plotted).toBeGreaterThanOrEqual(22);
      // Partial batch failures and the on-failure queue are on the dashboard, by this stack's names.
      const lines = body.widgets.flatMap((w) => w.properties.metrics);
      expect(lines).toContainEqual([
        ENRICHMENT_METRICS.namespace,
        ENRICHMENT_METRICS.failedRecords,
        ENRICHMENT_METRICS.serviceDimension,
        enrichment,
        { stat: 'Sum', label: 'enrichment failed records' },
      ]);
      expect(lines).toContainEqual([
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'QueueName',
        `${enrichment}-failures`,
        { stat: 'Maximum', label: 'on-failure messages (replay)' },
      ]);
    },
  );
});

describe('alarm topic', () => {
  const tf = readComponent('monitoring');
  it('is encrypted with a key CloudWatch may use, and only CloudWatch alarms of this account publish', () => {
    const topic = tf.resource!.aws_sns_topic!.topic!;
    expect(topic.kms_master_key_id).toBe('${aws_kms_key.topic_key.arn}');
    const keyPolicy = policyDocument(tf, 'topic_key_policy');
    expect(keyPolicy.fixed('CloudWatchPublishesAlarms')!.principals![0]!.identifiers).toEqual([
      'cloudwatch.amazonaws.com',
    ]);
    const topicPolicy = policyDocument(tf, 'topic_policy_document').fixedBlocks();
    expect(topicPolicy.map((s) => s.sid)).toEqual(['CloudWatchAlarmsPublish', 'DenyInsecureTransport']);
    expect(topicPolicy[0]!.actions).toEqual(['sns:Publish']);
  });

  it('subscribes the configured email addresses and HTTPS endpoints', () => {
    const subs = tf.resource!.aws_sns_topic_subscription!;
    expect(subs.email).toMatchObject({ for_each: '${toset(var.alarm_email_addresses)}', protocol: 'email' });
    expect(subs.webhook).toMatchObject({ for_each: '${toset(var.alarm_https_endpoints)}', protocol: 'https' });
  });
});
