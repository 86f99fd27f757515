/**
 * CloudWatch alarms with the dimensions of the resource they watch.
 *
 * Reference libraries ship alarms with no dimension, or with an ARN where CloudWatch expects a
 * name: such alarms watch a metric stream that never exists and never fire. Every alarm built here
 * must name its dimensions, and every alarm notifies the component's alarm topic.
 */
import {
  CloudwatchMetricAlarm,
  type CloudwatchMetricAlarmMetricQuery,
} from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import type { ITerraformIterator } from 'cdktf';
import type { PipelineStack } from './pipeline-stack';

export type Comparison =
  | 'GreaterThanThreshold'
  | 'GreaterThanOrEqualToThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';

/**
 * One metric, always with the dimensions that select the watched resource. Build it from the
 * catalogue (`metricOf` in ./metrics), which declares each metric once for alarms and dashboard.
 */
export interface MetricSpec {
  readonly namespace: string;
  readonly metricName: string;
  /** Dimension name → value. Must not be empty. */
  readonly dimensions: Readonly<Record<string, string>>;
  /** Statistic, e.g. Sum, Maximum, Average, or a percentile such as p99. */
  readonly statistic: string;
  /** Period of one datapoint in seconds, unless the alarm sets its own. @default 60 */
  readonly periodSeconds?: number;
}

interface AlarmBase {
  /** Appended to the component's label id to form the alarm name, e.g. "iterator-age". */
  readonly suffix: string;
  /** What is wrong when this alarm fires and what to look at. */
  readonly description: string;
  /** Threshold (a number or a Terraform expression). */
  readonly threshold: number;
  readonly comparison: Comparison;
  /** Period of one datapoint in seconds. @default the metric's period, else 60 */
  readonly periodSeconds?: number;
  /** Datapoints evaluated. @default 1 */
  readonly evaluationPeriods?: number;
  /** How missing data counts. @default notBreaching */
  readonly treatMissingData?: 'notBreaching' | 'breaching' | 'ignore' | 'missing';
  /** `for_each` iterator when one alarm per element (e.g. per consumer) is wanted. */
  readonly forEach?: ITerraformIterator;
  /** Name override when `forEach` is used (must be unique per element). */
  readonly alarmName?: string;
}

export interface MetricAlarmProps extends AlarmBase {
  readonly metric: MetricSpec;
}

export interface MathAlarmProps extends AlarmBase {
  /** Metric-math expression over the metric ids, e.g. "100 * errors / MAX([errors, invocations])". */
  readonly expression: string;
  /** The metrics the expression uses, by id. */
  readonly metrics: Readonly<Record<string, MetricSpec>>;
}

function checkDimensions(where: string, metric: MetricSpec): void {
  const entries = Object.entries(metric.dimensions);
  if (entries.length === 0) {
    throw new Error(`${where}: metric ${metric.namespace}/${metric.metricName} has no dimensions; it would never fire`);
  }
  for (const [name, value] of entries) {
    if (typeof value !== 'string' || value.length === 0) {
      throw new Error(`${where}: dimension ${name} of ${metric.metricName} is empty`);
    }
  }
}

const PERCENTILE = /^p\d{1,2}(\.\d+)?$/;

function common(stack: PipelineStack, props: AlarmBase) {
  return {
    alarmName: props.alarmName ?? stack.resourceName(props.suffix),
    alarmDescription: props.description,
    comparisonOperator: props.comparison,
    threshold: props.threshold,
    evaluationPeriods: props.evaluationPeriods ?? 1,
    datapointsToAlarm: props.evaluationPeriods ?? 1,
    treatMissingData: props.treatMissingData ?? 'notBreaching',
    alarmActions: stack.alarmActions,
    okActions: stack.alarmActions,
    forEach: props.forEach,
  };
}

/** An alarm on a single metric of one resource. */
export function metricAlarm(stack: PipelineStack, id: string, props: MetricAlarmProps): CloudwatchMetricAlarm {
  checkDimensions(`alarm ${id}`, props.metric);
  const percentile = PERCENTILE.test(props.metric.statistic);
  return new CloudwatchMetricAlarm(stack, id, {
    ...common(stack, props),
    namespace: props.metric.namespace,
    metricName: props.metric.metricName,
    dimensions: { ...props.metric.dimensions },
    period: props.periodSeconds ?? props.metric.periodSeconds ?? 60,
    ...(percentile ? { extendedStatistic: props.metric.statistic } : { statistic: props.metric.statistic }),
  });
}

/** An alarm on a metric-math expression (e.g. an error rate) over metrics of one resource. */
export function mathAlarm(stack: PipelineStack, id: string, props: MathAlarmProps): CloudwatchMetricAlarm {
  const queries: CloudwatchMetricAlarmMetricQuery[] = Object.entries(props.metrics).map(([metricId, metric]) => {
    checkDimensions(`alarm ${id}`, metric);
    const period = props.periodSeconds ?? metric.periodSeconds ?? 60;
    return {
      id: metricId,
      returnData: false,
      metric: {
        namespace: metric.namespace,
        metricName: metric.metricName,
        dimensions: { ...metric.dimensions },
        period,
        stat: metric.statistic,
      },
    };
  });
  return new CloudwatchMetricAlarm(stack, id, {
    ...common(stack, props),
    metricQuery: [{ id: 'result', expression: props.expression, label: props.suffix, returnData: true }, ...queries],
  });
}
