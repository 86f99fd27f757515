/**
 * What a stack deploys, read from the synthesized components (components/<c>/main.tf.json) for
 * the vars Atmos resolved: how many instances of each resource exist once count/for_each are
 * evaluated, the alarms and how many metrics each reads, customer KMS keys, attributes that the
 * component code fixes (e.g. the Lambda architecture). The expressions are evaluated with the
 * same small Terraform evaluator the tests use, which throws on any construct it does not know,
 * so a new kind of condition fails loudly instead of being counted wrong.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TerraformEvaluator, type Value } from '../../test/support/terraform-expr';
import type { TerraformJson } from '../../test/support/synth';

export type Vars = Readonly<Record<string, unknown>>;

export function readSynthesized(root: string, component: string): TerraformJson {
  const file = join(root, 'components', component, 'main.tf.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as TerraformJson;
  } catch (e) {
    throw new Error(`cannot read ${file} (run npm run synth first): ${(e as Error).message}`);
  }
}

/** A component's value of a variable: the stack's, else the declared default. */
export function varValue(tf: TerraformJson, vars: Vars, name: string): unknown {
  if (name in vars) return vars[name];
  const decl = tf.variable[name];
  if (!decl) throw new Error(`variable ${name} is not declared by this component`);
  if (!('default' in decl)) throw new Error(`variable ${name} has no default and the stack does not set it`);
  return decl.default;
}

/** Instances of one resource block for these vars (count / for_each evaluated). */
export function instanceCount(tf: TerraformJson, vars: Vars, block: Record<string, unknown>): number {
  const evaluator = new TerraformEvaluator(tf, { vars: vars as Record<string, Value> });
  if (block.count !== undefined) {
    const n = evaluator.value(block.count);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
      throw new Error(`count ${JSON.stringify(block.count)} is not a whole number: ${JSON.stringify(n)}`);
    return n;
  }
  if (block.for_each !== undefined) {
    const src = block.for_each;
    // The evaluator has no toset(); a set of the list's distinct elements has this many instances.
    const m = typeof src === 'string' ? /^\$\{toset\((.*)\)\}$/s.exec(src) : null;
    const v = m ? evaluator.expression(m[1]!) : evaluator.value(src);
    if (Array.isArray(v)) return new Set(v.map((x) => JSON.stringify(x))).size;
    if (v !== null && typeof v === 'object') return Object.keys(v).length;
    throw new Error(`for_each ${JSON.stringify(src)} is not a list or map: ${JSON.stringify(v)}`);
  }
  return 1;
}

export interface ResourceInstance {
  readonly type: string;
  readonly name: string;
  readonly count: number;
  readonly block: Record<string, unknown>;
}

/** Every resource block of the component with its instance count for these vars. */
export function resourceInstances(tf: TerraformJson, vars: Vars): ResourceInstance[] {
  const out: ResourceInstance[] = [];
  for (const [type, blocks] of Object.entries(tf.resource ?? {})) {
    for (const [name, block] of Object.entries(blocks))
      out.push({ type, name, count: instanceCount(tf, vars, block), block });
  }
  return out;
}

/** Instances of one resource type in total. */
export function countOf(instances: readonly ResourceInstance[], type: string): number {
  return instances.filter((r) => r.type === type).reduce((n, r) => n + r.count, 0);
}

/**
 * CloudWatch bills an alarm per metric it reads: 1 for a plain alarm, one per `metric` query of a
 * metric-math alarm (expressions are free). High-resolution periods (< 60 s) cost more and are
 * refused here, since no component uses them and the table has no such price.
 */
export function alarmMetrics(instances: readonly ResourceInstance[]): { alarms: number; metrics: number } {
  let alarms = 0;
  let metrics = 0;
  for (const r of instances) {
    if (r.type !== 'aws_cloudwatch_metric_alarm' || r.count === 0) continue;
    const queries = r.block.metric_query as { metric?: unknown; expression?: unknown }[] | undefined;
    const periods = queries
      ? queries.map((q) => (q.metric as { period?: unknown } | undefined)?.period)
      : [r.block.period];
    for (const p of periods) {
      if (p !== undefined && typeof p === 'number' && p < 60)
        throw new Error(`alarm ${r.name}: high-resolution period ${p} s has no price rule`);
    }
    const perAlarm = queries ? queries.filter((q) => q.metric !== undefined).length : 1;
    alarms += r.count;
    metrics += r.count * perAlarm;
  }
  return { alarms, metrics };
}
