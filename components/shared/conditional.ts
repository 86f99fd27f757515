/**
 * Resources that exist only when a variable says so (`count = cond ? 1 : 0`): one synth serves
 * every stack, so optional parts (DAX, VPC, Timestream...) are switched by variables, never by
 * synth-time branching.
 */
import { Token } from 'cdktf';

/** A resource or data source: anything with a Terraform address. */
interface Addressable {
  readonly fqn: string;
}

/** `count` for a resource that exists when the Terraform bool expression `condition` is true. */
export function countWhen(condition: string): number {
  return Token.asNumber(`\${${condition} ? 1 : 0}`);
}

/** An attribute of the single instance of a counted resource: `${type.name[0].attr}`. */
export function first(resource: Addressable, attribute: string): string {
  return Token.asString(`\${${resource.fqn}[0].${attribute}}`);
}

/** The attribute when `condition` holds, else `otherwise` (an HCL literal, default ""). */
export function whenEnabled(condition: string, resource: Addressable, attribute: string, otherwise = '""'): string {
  return Token.asString(`\${${condition} ? ${resource.fqn}[0].${attribute} : ${otherwise}}`);
}
