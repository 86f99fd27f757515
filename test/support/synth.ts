/** Reading synthesized components in tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths';

/** The Terraform JSON of a component, as synthesized into components/<component>/main.tf.json. */
export interface TerraformJson {
  readonly terraform?: Record<string, unknown> & { backend?: unknown };
  readonly variable: Record<string, TerraformVariableJson>;
  readonly output?: Record<string, { value: unknown; description?: string }>;
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
  readonly data?: Record<string, Record<string, Record<string, unknown>>>;
  readonly locals?: Record<string, unknown>;
  readonly provider?: Record<string, unknown[]>;
}

export interface TerraformVariableJson {
  readonly type?: string;
  readonly default?: unknown;
  readonly description?: string;
  readonly nullable?: boolean;
  readonly validation?: { condition: string; error_message: string }[];
}

export function componentPath(component: string): string {
  return join(REPO_ROOT, 'components', component);
}

export function readComponent(component: string): TerraformJson {
  return JSON.parse(readFileSync(join(componentPath(component), 'main.tf.json'), 'utf8')) as TerraformJson;
}

/** All resources of one type in a component: logical name → attributes. */
export function resourcesOf(tf: TerraformJson, type: string): Record<string, Record<string, unknown>> {
  return tf.resource?.[type] ?? {};
}

/** The only resource of a type (fails the test when there are zero or several). */
export function onlyResource(tf: TerraformJson, type: string): [string, Record<string, unknown>] {
  const entries = Object.entries(resourcesOf(tf, type));
  if (entries.length !== 1) throw new Error(`expected exactly one ${type}, found ${entries.length}`);
  return entries[0]!;
}

/** Every CloudWatch alarm in a component, by alarm-name expression suffix. */
export function alarmsOf(tf: TerraformJson): Record<string, Record<string, unknown>> {
  return resourcesOf(tf, 'aws_cloudwatch_metric_alarm');
}
