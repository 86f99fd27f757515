/** CloudWatch log groups with finite retention, the same way in every component. */
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import type { Construct } from 'constructs';
import { skipCheck } from './checkov';
import { numberVariable } from './variables';

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Declares `log_retention_days` (default 30), restricted to the values CloudWatch accepts. */
export function logRetentionVariable(scope: Construct): number {
  const v = numberVariable(scope, 'log_retention_days', {
    description: `Days to keep this component's logs. Never "forever".`,
    default: 30,
    min: 1,
    max: 3653,
    allowed: LOG_RETENTION_DAYS,
  });
  return v.numberValue;
}

/** A log group with the given name and retention. */
export function logGroup(
  scope: Construct,
  id: string,
  props: { name: string; retentionDays: number },
): CloudwatchLogGroup {
  const group = new CloudwatchLogGroup(scope, id, {
    name: props.name,
    retentionInDays: props.retentionDays,
  });
  skipCheck(
    group,
    'CKV_AWS_158',
    'CloudWatch Logs encrypts at rest by default; these operational logs carry no record payloads, and a customer key would need a per-group key policy for the logs service',
  );
  // In the synthesized JSON the retention is `${var.log_retention_days}`: only the plans show it.
  skipCheck(
    group,
    'CKV_AWS_338',
    "retention is log_retention_days, finite and validated to CloudWatch's values (default 30): operational logs, not an audit trail; a stack that must keep a year sets it to 365 or more",
    { planOnly: true },
  );
  return group;
}
