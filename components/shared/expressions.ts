/**
 * Raw Terraform expressions: the one module that writes `${...}` by hand.
 *
 * One synth serves every stack, so whatever a variable decides (optional resources, conditional
 * attributes, dynamic blocks) is a Terraform expression in the JSON, not a TypeScript branch.
 * CDKTF's `Fn`/`Op` helpers cannot nest conditionals and render some literals wrongly (`Op.eq(x,
 * '')` writes `undefined`), so components write these expressions as HCL text. They build them
 * from the helpers below, which keep two rules in one place: a bare expression (`cond`, `ref`,
 * `firstRef`...) is HCL that may be nested in another, and only the outermost layer is wrapped in
 * `${...}` (`expr`, `first`, `countWhen`...), as a token of the type the attribute expects.
 *
 * Resources, data sources and variables are referred to by their `fqn` (`aws_sqs_queue.dlq`,
 * `var.vpc_id`), so the expression names exactly the construct it was built from.
 *
 * Still written out elsewhere: variable validations (./variables.ts, ./logs.ts,
 * ./kinesis-stream.ts), the cross-variable preconditions beside the resources they guard, and
 * kinesis-analytics' property-group `merge(...)`; those belong to the variable and Flink-property
 * declarations.
 */
import { type IResolvable, Token } from 'cdktf';

/** A resource, data source, local or variable: anything with a Terraform address. */
export interface Addressable {
  readonly fqn: string;
}

// --- bare expressions (HCL, to be nested or wrapped) --------------------------------------------

/** `<address>.<attribute>` of a resource created once (no `count`). */
export function ref(resource: Addressable, attribute: string): string {
  return `${resource.fqn}.${attribute}`;
}

/** `<address>[0].<attribute>`: the single instance of a resource with `count = cond ? 1 : 0`. */
export function firstRef(resource: Addressable, attribute: string): string {
  return `${resource.fqn}[0].${attribute}`;
}

/** `<address>[*].<attribute>`: the attribute of every instance, a list (empty when count is 0). */
export function splatRef(resource: Addressable, attribute: string): string {
  return `${resource.fqn}[*].${attribute}`;
}

/** `cond ? then : otherwise`; each part is a bare expression (an HCL literal such as `""` or `null`). */
export function cond(condition: string, then: string, otherwise: string): string {
  return `${condition} ? ${then} : ${otherwise}`;
}

/**
 * An HCL string template, `"text"`, where `text` may hold `${...}` interpolations (build them with
 * `expr`). The text is written as is: it must not contain a double quote or a backslash.
 */
export function template(text: string): string {
  if (/["\\]/.test(text)) throw new Error(`template: ${JSON.stringify(text)} holds a quote or a backslash`);
  return `"${text}"`;
}

// --- wrapped expressions (attribute values) -----------------------------------------------------

/** `${hcl}` for a string attribute (also what a string template interpolates). */
export function expr(hcl: string): string {
  return Token.asString(`\${${hcl}}`);
}

/** `${hcl}` for a number attribute. */
export function exprNumber(hcl: string): number {
  return Token.asNumber(`\${${hcl}}`);
}

/** `${hcl}` for a list attribute. */
export function exprList(hcl: string): string[] {
  return Token.asList(`\${${hcl}}`);
}

/** `${hcl}` for a bool attribute (`boolean | IResolvable`) or a precondition's `condition`. */
export function exprBool(hcl: string): IResolvable {
  return Token.asAny(`\${${hcl}}`);
}

/** A file next to the synthesized JSON (`${path.module}/<relative>`), e.g. a bundle Terraform uploads. */
export function modulePath(relative: string): string {
  return `${expr('path.module')}/${relative}`;
}

/** `count` for a resource that exists when the Terraform bool expression `condition` is true. */
export function countWhen(condition: string): number {
  return exprNumber(cond(condition, '1', '0'));
}

/** An attribute of the single instance of a counted resource: `${type.name[0].attr}`. */
export function first(resource: Addressable, attribute: string): string {
  return expr(firstRef(resource, attribute));
}

/** The attribute when `condition` holds, else `otherwise` (an HCL literal, default ""). */
export function whenEnabled(condition: string, resource: Addressable, attribute: string, otherwise = '""'): string {
  return expr(cond(condition, firstRef(resource, attribute), otherwise));
}

/** `${<block>.value.<attribute>}`: inside a dynamic block's content, an attribute of the current item. */
export function dynamicValue(block: string, attribute: string): string {
  return expr(`${block}.value.${attribute}`);
}

/** `for_each` of a dynamic block that is written once when `condition` holds, else not at all. */
export function dynamicWhen(condition: string): string {
  return expr(cond(condition, '[1]', '[]'));
}
