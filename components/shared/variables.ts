/**
 * Terraform variables with validation, declared the same way by every component.
 *
 * The synthesized JSON is environment-agnostic: every per-environment value is a variable that
 * Atmos sets from stack YAML. Each helper here adds `validation` blocks whose error message names
 * the variable and the allowed values, so a wrong stack value fails at `terraform plan` before any
 * API call (Atmos' JSON Schema catches most of them even earlier, at `atmos validate stacks`).
 *
 * Conditions use `cond ? a : b` instead of `&&`/`||` wherever one side would fail on null:
 * Terraform does not short-circuit the logical operators.
 */
import { TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';

/**
 * The same rules as JSON Schema, per stack: synthesis writes them to
 * stacks/schemas/jsonschema/<component>.json so that `atmos validate component` (and every
 * `atmos terraform` command, through `settings.validation`) rejects a bad stack value before
 * Terraform even starts. One declaration here serves both checks, so they cannot drift apart.
 */
export interface VariablesSchema {
  readonly properties: Record<string, object>;
  readonly required: string[];
  /** Cross-variable rules (JSON Schema if/then), added with {@link addSchemaRule}. */
  readonly rules: object[];
}

const schemas = new WeakMap<TerraformStack, VariablesSchema>();

/** The JSON Schema of the variables declared so far in `scope`'s stack. */
export function variablesSchema(scope: Construct): VariablesSchema {
  const stack = TerraformStack.of(scope);
  let schema = schemas.get(stack);
  if (!schema) {
    schema = { properties: {}, required: [], rules: [] };
    schemas.set(stack, schema);
  }
  return schema;
}

/** Adds a cross-variable rule (a JSON Schema fragment over `vars`), e.g. an if/then pair. */
export function addSchemaRule(scope: Construct, rule: object): void {
  variablesSchema(scope).rules.push(rule);
}

function register(scope: Construct, name: string, schema: object, description: string, isRequired: boolean): void {
  const target = variablesSchema(scope);
  target.properties[name] = { description, ...schema };
  if (isRequired) target.required.push(name);
}

interface VariableBase {
  /** What the variable is, its default and allowed range: shown in `terraform plan` and the README. */
  readonly description: string;
}

/**
 * `var.<name>` as plain text, for hand-written expressions that contain HCL object literals:
 * CDKTF's token resolver loses track of `${` nesting after a literal `}` and would wrap later
 * tokens in a second `${...}`.
 */
export function varRef(variable: TerraformVariable): string {
  return `var.${variable.node.id}`;
}

/** Marks a variable as required (no default) instead of giving it a default value. */
export const REQUIRED = Symbol('required');

export interface StringVariableProps extends VariableBase {
  /** Default value; `REQUIRED` for none; `null` to allow "unset". */
  readonly default: string | null | typeof REQUIRED;
  /** Allowed values (an enum). */
  readonly allowed?: readonly string[];
  /** RE2 regular expression the whole value must match, with a human description of it. */
  readonly pattern?: { readonly regex: string; readonly hint: string };
}

export interface NumberVariableProps extends VariableBase {
  /** Default value; `REQUIRED` for none; `null` to allow "unset". */
  readonly default: number | null | typeof REQUIRED;
  /** Inclusive lower bound. */
  readonly min: number;
  /** Inclusive upper bound. */
  readonly max: number;
  /** Whole numbers only. @default true */
  readonly integer?: boolean;
  /** Unit shown in the error message, e.g. "hours". */
  readonly unit?: string;
}

export interface BoolVariableProps extends VariableBase {
  readonly default: boolean;
}

export interface StringListVariableProps extends VariableBase {
  readonly default: readonly string[];
  /** Each element must be one of these. */
  readonly allowed?: readonly string[];
  /** Each element must match this RE2 expression. */
  readonly pattern?: { readonly regex: string; readonly hint: string };
  /** Upper bound on the number of elements. */
  readonly maxItems?: number;
}

export interface StringMapVariableProps extends VariableBase {
  readonly default: Readonly<Record<string, string>>;
}

const hcl = (value: string | number): string => JSON.stringify(value);
const hclList = (values: readonly string[]): string => `[${values.map(hcl).join(', ')}]`;
const human = (values: readonly string[]): string => values.join(', ');

function defaultOf<T>(value: T | typeof REQUIRED): { default?: T } {
  // A null default is set by override after construction (CDKTF cannot serialize it).
  return value === REQUIRED || value === null ? {} : { default: value };
}

/** Makes an optional variable's default `null` (CDKTF drops a null default otherwise). */
function nullDefault(v: TerraformVariable, value: unknown): void {
  if (value === null) v.addOverride('default', null);
}

/** A string variable, optionally restricted to an enum or a pattern. */
export function stringVariable(scope: Construct, name: string, props: StringVariableProps): TerraformVariable {
  const nullable = props.default === null;
  const v = new TerraformVariable(scope, name, {
    type: 'string',
    description: props.description,
    nullable,
    ...defaultOf(props.default),
  });
  nullDefault(v, props.default);
  register(
    scope,
    name,
    {
      type: nullable ? ['string', 'null'] : 'string',
      ...(props.allowed ? { enum: nullable ? [...props.allowed, null] : [...props.allowed] } : {}),
      ...(props.pattern ? { pattern: `^(?:${props.pattern.regex})$` } : {}),
    },
    props.description,
    props.default === REQUIRED,
  );
  const guard = (cond: string) => (nullable ? `\${var.${name} == null ? true : ${cond}}` : `\${${cond}}`);
  if (props.allowed) {
    v.addValidation({
      condition: guard(`contains(${hclList(props.allowed)}, var.${name})`),
      errorMessage: `Invalid value for ${name}: allowed values are ${human(props.allowed)}.`,
    });
  }
  if (props.pattern) {
    v.addValidation({
      condition: guard(`can(regex(${hcl(`^(?:${props.pattern.regex})$`)}, var.${name}))`),
      errorMessage: `Invalid value for ${name}: must be ${props.pattern.hint}.`,
    });
  }
  return v;
}

/** A number variable within an inclusive range. */
export function numberVariable(scope: Construct, name: string, props: NumberVariableProps): TerraformVariable {
  const nullable = props.default === null;
  const integer = props.integer ?? true;
  const v = new TerraformVariable(scope, name, {
    type: 'number',
    description: props.description,
    nullable,
    ...defaultOf(props.default),
  });
  nullDefault(v, props.default);
  const numberType = integer ? 'integer' : 'number';
  register(
    scope,
    name,
    { type: nullable ? [numberType, 'null'] : numberType, minimum: props.min, maximum: props.max },
    props.description,
    props.default === REQUIRED,
  );
  const range = `var.${name} >= ${props.min} && var.${name} <= ${props.max}${integer ? ` && floor(var.${name}) == var.${name}` : ''}`;
  const unit = props.unit ? ` ${props.unit}` : '';
  v.addValidation({
    condition: nullable ? `\${var.${name} == null ? true : (${range})}` : `\${${range}}`,
    errorMessage:
      `Invalid value for ${name}: must be ${integer ? 'a whole number' : 'a number'} ` +
      `from ${props.min} to ${props.max}${unit}${nullable ? ', or null' : ''}.`,
  });
  return v;
}

/** A boolean variable. */
export function boolVariable(scope: Construct, name: string, props: BoolVariableProps): TerraformVariable {
  register(scope, name, { type: 'boolean' }, props.description, false);
  return new TerraformVariable(scope, name, {
    type: 'bool',
    description: props.description,
    nullable: false,
    default: props.default,
  });
}

/** A list(string) variable whose elements are restricted to an enum and/or a pattern. */
export function stringListVariable(scope: Construct, name: string, props: StringListVariableProps): TerraformVariable {
  const items: Record<string, unknown> = { type: 'string' };
  if (props.allowed) items.enum = [...props.allowed];
  if (props.pattern) items.pattern = `^(?:${props.pattern.regex})$`;
  register(
    scope,
    name,
    {
      type: 'array',
      items,
      ...(props.maxItems !== undefined ? { maxItems: props.maxItems, uniqueItems: true } : {}),
    },
    props.description,
    false,
  );
  const v = new TerraformVariable(scope, name, {
    type: 'list(string)',
    description: props.description,
    nullable: false,
    default: [...props.default],
  });
  if (props.allowed) {
    v.addValidation({
      condition: `\${length(setsubtract(var.${name}, ${hclList(props.allowed)})) == 0}`,
      errorMessage: `Invalid value for ${name}: each element must be one of ${human(props.allowed)}.`,
    });
  }
  if (props.pattern) {
    v.addValidation({
      condition: `\${alltrue([for item in var.${name} : can(regex(${hcl(`^(?:${props.pattern.regex})$`)}, item))])}`,
      errorMessage: `Invalid value for ${name}: each element must be ${props.pattern.hint}.`,
    });
  }
  if (props.maxItems !== undefined) {
    v.addValidation({
      condition: `\${length(var.${name}) <= ${props.maxItems} && length(distinct(var.${name})) == length(var.${name})}`,
      errorMessage: `Invalid value for ${name}: at most ${props.maxItems} distinct elements.`,
    });
  }
  return v;
}

/** A map(string) variable (tags and the like). */
export function stringMapVariable(scope: Construct, name: string, props: StringMapVariableProps): TerraformVariable {
  register(scope, name, { type: 'object', additionalProperties: { type: 'string' } }, props.description, false);
  return new TerraformVariable(scope, name, {
    type: 'map(string)',
    description: props.description,
    nullable: false,
    default: { ...props.default },
  });
}
