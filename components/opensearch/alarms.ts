/** opensearch's alarms: cluster health, storage, write blocks, memory and CPU of the domain. */
import type { OpensearchDomain } from '@cdktf/provider-aws/lib/opensearch-domain';
import { type Comparison, metricAlarm } from '../shared/alarms';
import { type MetricDefinition, metricOf, OPENSEARCH } from '../shared/metrics';
import type { PipelineStack } from '../shared/pipeline-stack';

/** A metric of the catalogue's AWS/ES section (dimensions DomainName and ClientId). */
type DomainMetric = MetricDefinition<{ domainName: string; accountId: string }>;

interface DomainAlarm {
  readonly id: string;
  readonly suffix: string;
  readonly metric: DomainMetric;
  readonly threshold: number;
  readonly comparison: Comparison;
  readonly description: string;
  /** Datapoints (of one minute) that must breach. @default 1 */
  readonly evaluationPeriods?: number;
}

/** The six domain alarms, `<label>-cluster-red` ... `<label>-cpu-high`, one-minute datapoints. */
export function domainAlarms(
  stack: PipelineStack,
  domain: OpensearchDomain,
  props: { freeStorageThresholdMb: number },
): void {
  const alarms: DomainAlarm[] = [
    {
      id: 'cluster_red_alarm',
      suffix: 'cluster-red',
      metric: OPENSEARCH.clusterRed,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      description: 'At least one primary shard is unassigned: some indices cannot be written or searched.',
    },
    {
      id: 'cluster_yellow_alarm',
      suffix: 'cluster-yellow',
      metric: OPENSEARCH.clusterYellow,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      description: 'Replica shards are unassigned: one more node loss loses data.',
      evaluationPeriods: 5,
    },
    {
      id: 'free_storage_alarm',
      suffix: 'free-storage-low',
      metric: OPENSEARCH.freeStorage,
      threshold: props.freeStorageThresholdMb,
      comparison: 'LessThanOrEqualToThreshold',
      description: 'A data node is running out of disk; writes block at the flood-stage watermark.',
    },
    {
      id: 'writes_blocked_alarm',
      suffix: 'writes-blocked',
      metric: OPENSEARCH.writesBlocked,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      description:
        'The cluster blocks writes (disk or memory pressure): Firehose deliveries fail and go to the backup bucket.',
    },
    {
      id: 'jvm_pressure_alarm',
      suffix: 'jvm-pressure',
      metric: OPENSEARCH.jvmPressure,
      threshold: 80,
      comparison: 'GreaterThanOrEqualToThreshold',
      description: 'JVM memory pressure >= 80%: risk of out-of-memory and blocked writes.',
      evaluationPeriods: 3,
    },
    {
      id: 'cpu_alarm',
      suffix: 'cpu-high',
      metric: OPENSEARCH.cpu,
      threshold: 80,
      comparison: 'GreaterThanOrEqualToThreshold',
      description: 'Data nodes are CPU-bound (>= 80% for 3 periods): scale up or out.',
      evaluationPeriods: 3,
    },
  ];
  const of = { domainName: domain.domainName, accountId: stack.accountId };
  for (const alarm of alarms) {
    metricAlarm(stack, alarm.id, {
      suffix: alarm.suffix,
      description: alarm.description,
      metric: metricOf(alarm.metric, of),
      threshold: alarm.threshold,
      comparison: alarm.comparison,
      evaluationPeriods: alarm.evaluationPeriods ?? 1,
      periodSeconds: 60,
    });
  }
}
