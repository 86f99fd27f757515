/**
 * Terraform variables with validation, declared once by every component as typed data.
 *
 * The synthesized JSON is environment-agnostic: every per-environment value is a variable that
 * Atmos sets from stack YAML. One declaration here (name, type, default, range/enum/pattern and a
 * one-line doc) produces everything else, so the layers cannot drift apart:
 * - the Terraform variable, its `validation` blocks and its description (the doc plus the
 *   generated "Default: … Allowed: …" text, the same format everywhere);
 * - the component's JSON Schema (stacks/schemas/jsonschema/<component>.json, see synth.ts);
 * - the component's OPA policy (stacks/schemas/opa/<component>.variables.rego, see
 *   {@link variablesPolicy}), which `atmos validate component` and every `atmos terraform`
 *   command run through `settings.validation`: it prints, per bad var, the very sentence
 *   OpenTofu's validation prints (`retention_period_hours: must be a whole number from 24 to
 *   8760 hours (got 0)`), before Terraform even starts;
 * - the declarations as data ({@link stackVariables}), for the README's inputs table.
 *
 * A rule over several variables is one {@link crossVariableRule}: its HCL condition, its JSON
 * Schema fragment and one message.
 *
 * Conditions use `cond ? a : b` instead of `&&`/`||` wherever one side would fail on null:
 * Terraform does not short-circuit the logical operators.
 */
import { TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';

/** Marks a variable as required (no default) instead of giving it a default value. */
export const REQUIRED = Symbol('required');

/** One rule of one variable: the same check in HCL, in JSON Schema and in words. */
export interface VariableCheck {
  /** What a valid value is, e.g. "a whole number from 24 to 8760 hours" (the description's "Allowed:"). */
  readonly allowed: string;
  /** The error sentence without the variable name, e.g. "must be a whole number from 24 to 8760 hours". */
  readonly message: string;
  /** The HCL condition, without `${}`. */
  readonly condition: string;
  /** The JSON Schema keywords the value must match (applied when the value has the right type). */
  readonly schema: Record<string, unknown>;
}

/** One variable as declared: what the README's inputs table and the policies are made from. */
export interface VariableDeclaration {
  readonly name: string;
  /** The Terraform type: string, number, bool, list(string) or map(string). */
  readonly type: 'string' | 'number' | 'bool' | 'list(string)' | 'map(string)';
  /** The one-line doc ("what it is") as written at the declaration. */
  readonly doc: string;
  /** True when the variable has no default and every stack must set it. */
  readonly required: boolean;
  /** True when null is an allowed value ("unset"). */
  readonly nullable: boolean;
  /** The default (absent when required; null for an optional variable without a value). */
  readonly default?: unknown;
  /** Number range, inclusive. */
  readonly min?: number;
  readonly max?: number;
  /** Whole numbers only (number variables). */
  readonly integer?: boolean;
  /** Unit of a number, e.g. "hours". */
  readonly unit?: string;
  /** Allowed values (of the value, or of each element of a list). */
  readonly allowed?: readonly (string | number)[];
  /** RE2 expression the whole value (or each element) must match, and its human description. */
  readonly pattern?: { readonly regex: string; readonly hint: string };
  /** Upper bound on a list's (distinct) elements. */
  readonly maxItems?: number;
  /** The generated text after the doc: "Default: 24. Allowed: a whole number from 24 to 8760 hours." */
  readonly constraints: string;
  /** The Terraform (and JSON Schema) description: doc + constraints. */
  readonly description: string;
  /** The value's JSON Schema (the `vars` property in stacks/schemas/jsonschema, without description). */
  readonly schema: Record<string, unknown>;
  /** The JSON Schema of the value's type alone, e.g. {"type": ["number", "null"]}. */
  readonly typeSchema: Record<string, unknown>;
  /** What the type is in words, e.g. "a whole number", for the type error message. */
  readonly typeText: string;
  /** Each validation block, in order. */
  readonly checks: readonly VariableCheck[];
}

/** A rule over several variables: one HCL condition, one JSON Schema rule, one message. */
export interface CrossVariableRuleDeclaration {
  /** The variables the rule reads, as named in the message's "(got …)" part. */
  readonly variables: readonly string[];
  /** The sentence, starting with the variable it is about, e.g. "shard_count: must be set …". */
  readonly message: string;
  /**
   * JSON Schema over the vars object (e.g. an if/then pair), checked by Atmos. Omit only when
   * the rule is arithmetic across variables (then `rego` says it).
   */
  readonly schema?: object;
  /**
   * A Rego condition that is true when the rule is BROKEN, over `vars` (the stack's vars over the
   * declared defaults): for rules JSON Schema cannot express (arithmetic across variables).
   */
  readonly rego?: string;
  /** Where OpenTofu checks it: a validation of `on` with this condition (without `${}`). */
  readonly hcl?: { readonly on: TerraformVariable; readonly condition: string };
  /** Where OpenTofu checks it when there is no validation: e.g. "the DAX cluster's precondition". */
  readonly enforcedBy?: string;
}

interface StackVariables {
  readonly variables: VariableDeclaration[];
  readonly rules: CrossVariableRuleDeclaration[];
  /** The Terraform variable of each declaration, for a rule's line in its description. */
  readonly terraform: Map<string, TerraformVariable>;
}

const registry = new WeakMap<TerraformStack, StackVariables>();

function stackEntry(scope: Construct): StackVariables {
  const stack = TerraformStack.of(scope);
  let entry = registry.get(stack);
  if (!entry) {
    entry = { variables: [], rules: [], terraform: new Map() };
    registry.set(stack, entry);
  }
  return entry;
}

/**
 * Every variable and cross-variable rule declared so far in `scope`'s stack, in declaration
 * order: the data the README's inputs table, the JSON Schema and the OPA policy are made from.
 */
export function stackVariables(scope: Construct): {
  readonly variables: readonly VariableDeclaration[];
  readonly rules: readonly CrossVariableRuleDeclaration[];
} {
  return stackEntry(scope);
}

/** The JSON Schema of the variables declared so far in `scope`'s stack (synth.ts wraps it). */
export interface VariablesSchema {
  readonly properties: Record<string, object>;
  readonly required: string[];
  /** Cross-variable rules (JSON Schema if/then), from {@link crossVariableRule}. */
  readonly rules: object[];
}

export function variablesSchema(scope: Construct): VariablesSchema {
  const { variables, rules } = stackEntry(scope);
  const properties: Record<string, object> = {};
  for (const v of variables) {
    // title: the one-line doc alone (the component README's description column); description:
    // the doc and the generated default/allowed text, as in the Terraform variable.
    properties[v.name] = { title: v.doc, description: v.description, ...v.schema };
  }
  return {
    properties,
    required: variables.filter((v) => v.required).map((v) => v.name),
    rules: rules.flatMap((r) => (r.schema ? [r.schema] : [])),
  };
}

/** The "(got …)" part of a message, as an HCL template over the named variables. */
function gotHcl(names: readonly string[], self?: string): string {
  if (self !== undefined) return `(got \${jsonencode(var.${self})})`;
  return `(got ${names.map((n) => `${n} = \${jsonencode(var.${n})}`).join(', ')})`;
}

/**
 * Declares a rule over several variables once: OpenTofu's validation (when `hcl` is given; a
 * validation may read other variables since OpenTofu 1.8), the JSON Schema rule and the OPA
 * policy's check all carry the same `message`, followed by the values it read.
 */
/**
 * Returns the rule's message, for a resource precondition that enforces the same rule (`enforcedBy`),
 * so that OpenTofu's plan says what Atmos says.
 */
export function crossVariableRule(scope: Construct, rule: CrossVariableRuleDeclaration): string {
  if (!rule.schema && !rule.rego) throw new Error(`crossVariableRule "${rule.message}": give schema or rego`);
  if (!/^[a-z][a-z0-9_]*: /.test(rule.message)) {
    throw new Error(`crossVariableRule "${rule.message}": the message must start with "<variable>: "`);
  }
  const entry = stackEntry(scope);
  entry.rules.push(rule);
  // The variable the message is about gets the rule in its description: "… Rule: must be …".
  const subject = rule.message.slice(0, rule.message.indexOf(':'));
  const declaration = entry.variables.find((v) => v.name === subject) as Mutable<VariableDeclaration> | undefined;
  const variable = entry.terraform.get(subject);
  if (!declaration || !variable) throw new Error(`crossVariableRule "${rule.message}": declare ${subject} first`);
  declaration.constraints = `${declaration.constraints} Rule: ${rule.message.slice(subject.length + 2)}.`;
  declaration.description = `${declaration.doc} ${declaration.constraints}`;
  variable.addOverride('description', declaration.description);
  if (rule.hcl) {
    rule.hcl.on.addValidation({
      condition: `\${${rule.hcl.condition}}`,
      errorMessage: `${rule.message} ${gotHcl(rule.variables)}`,
    });
  }
  return rule.message;
}

interface VariableBase {
  /** What the variable is, in one line. Default, range and allowed values are appended from the data. */
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
  /** Besides the range, the value must be one of these (e.g. CloudWatch's retention days). */
  readonly allowed?: readonly number[];
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
const hclList = (values: readonly (string | number)[]): string => `[${values.map(hcl).join(', ')}]`;
const human = (values: readonly (string | number)[]): string => values.join(', ');
const anchored = (regex: string): string => `^(?:${regex})$`;

/** "Default: 24." / "Default: null." / "Required." */
function defaultText(value: unknown): string {
  if (value === REQUIRED) return 'Required.';
  return `Default: ${JSON.stringify(value)}.`;
}

type DeclarationInput = Omit<VariableDeclaration, 'constraints' | 'description' | 'required' | 'default'> & {
  readonly default: unknown;
};

/** Records the declaration, derives the description, and adds the validation blocks to `v`. */
function declare(scope: Construct, input: DeclarationInput): VariableDeclaration {
  const allowed = input.checks.map((c) => c.allowed);
  const constraints = [defaultText(input.default), ...(allowed.length ? [`Allowed: ${allowed.join('; ')}.`] : [])].join(
    ' ',
  );
  const required = input.default === REQUIRED;
  const declaration: VariableDeclaration = {
    ...input,
    required,
    ...(required ? {} : { default: input.default }),
    constraints,
    description: `${input.doc} ${constraints}`,
  };
  const entry = stackEntry(scope);
  if (entry.variables.some((v) => v.name === input.name)) throw new Error(`variable ${input.name} declared twice`);
  entry.variables.push(declaration);
  return declaration;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Records `v` as the declaration's Terraform variable and adds the declaration's validations. */
function attach(scope: Construct, v: TerraformVariable, d: VariableDeclaration): TerraformVariable {
  stackEntry(scope).terraform.set(d.name, v);
  addChecks(v, d);
  return v;
}

function addChecks(v: TerraformVariable, d: VariableDeclaration): void {
  for (const check of d.checks) {
    v.addValidation({
      condition: `\${${check.condition}}`,
      errorMessage: `${d.name}: ${check.message} ${gotHcl([], d.name)}`,
    });
  }
}

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
  const guard = (cond: string) => (nullable ? `var.${name} == null ? true : ${cond}` : cond);
  const orNull = nullable ? ', or null' : '';
  const checks: VariableCheck[] = [];
  if (props.allowed) {
    checks.push({
      allowed: `one of ${human(props.allowed)}${orNull}`,
      message: `must be one of ${human(props.allowed)}${orNull}`,
      condition: guard(`contains(${hclList(props.allowed)}, var.${name})`),
      schema: { enum: nullable ? [...props.allowed, null] : [...props.allowed] },
    });
  }
  if (props.pattern) {
    checks.push({
      allowed: `${props.pattern.hint}${orNull}`,
      message: `must be ${props.pattern.hint}${orNull}`,
      condition: guard(`can(regex(${hcl(anchored(props.pattern.regex))}, var.${name}))`),
      schema: { pattern: anchored(props.pattern.regex) },
    });
  }
  const d = declare(scope, {
    name,
    type: 'string',
    doc: props.description,
    nullable,
    default: props.default,
    ...(props.allowed ? { allowed: props.allowed } : {}),
    ...(props.pattern ? { pattern: props.pattern } : {}),
    schema: {
      type: nullable ? ['string', 'null'] : 'string',
      ...Object.assign({}, ...checks.map((c) => c.schema)),
    },
    typeSchema: { type: nullable ? ['string', 'null'] : 'string' },
    typeText: `a string${orNull}`,
    checks,
  });
  const v = new TerraformVariable(scope, name, {
    type: 'string',
    description: d.description,
    nullable,
    ...defaultOf(props.default),
  });
  nullDefault(v, props.default);
  return attach(scope, v, d);
}

/** A number variable within an inclusive range (and optionally one of a set of values). */
export function numberVariable(scope: Construct, name: string, props: NumberVariableProps): TerraformVariable {
  const nullable = props.default === null;
  const integer = props.integer ?? true;
  const unit = props.unit ? ` ${props.unit}` : '';
  const orNull = nullable ? ', or null' : '';
  const guard = (cond: string) => (nullable ? `var.${name} == null ? true : (${cond})` : cond);
  const kind = integer ? 'a whole number' : 'a number';
  const range = `${kind} from ${props.min} to ${props.max}${unit}${orNull}`;
  const numberType = integer ? 'integer' : 'number';
  const typeOf = (t: string) => (nullable ? [t, 'null'] : t);
  const checks: VariableCheck[] = [
    {
      allowed: range,
      message: `must be ${range}`,
      condition: guard(
        `var.${name} >= ${props.min} && var.${name} <= ${props.max}${integer ? ` && floor(var.${name}) == var.${name}` : ''}`,
      ),
      schema: { type: typeOf(numberType), minimum: props.min, maximum: props.max },
    },
  ];
  if (props.allowed) {
    checks.push({
      allowed: `one of ${human(props.allowed)}`,
      message: `must be one of ${human(props.allowed)}`,
      condition: `contains(${hclList(props.allowed)}, var.${name})`,
      schema: { enum: [...props.allowed] },
    });
  }
  const d = declare(scope, {
    name,
    type: 'number',
    doc: props.description,
    nullable,
    default: props.default,
    min: props.min,
    max: props.max,
    integer,
    ...(props.unit ? { unit: props.unit } : {}),
    ...(props.allowed ? { allowed: props.allowed } : {}),
    schema: Object.assign({}, ...checks.map((c) => c.schema)),
    // Whole-ness is part of the range check, as in the HCL condition.
    typeSchema: { type: typeOf('number') },
    typeText: `a number${orNull}`,
    checks,
  });
  const v = new TerraformVariable(scope, name, {
    type: 'number',
    description: d.description,
    nullable,
    ...defaultOf(props.default),
  });
  nullDefault(v, props.default);
  return attach(scope, v, d);
}

/** A boolean variable. */
export function boolVariable(scope: Construct, name: string, props: BoolVariableProps): TerraformVariable {
  const d = declare(scope, {
    name,
    type: 'bool',
    doc: props.description,
    nullable: false,
    default: props.default,
    schema: { type: 'boolean' },
    typeSchema: { type: 'boolean' },
    typeText: 'true or false',
    checks: [],
  });
  return attach(
    scope,
    new TerraformVariable(scope, name, {
      type: 'bool',
      description: d.description,
      nullable: false,
      default: props.default,
    }),
    d,
  );
}

/** A list(string) variable whose elements are restricted to an enum and/or a pattern. */
export function stringListVariable(scope: Construct, name: string, props: StringListVariableProps): TerraformVariable {
  const checks: VariableCheck[] = [];
  if (props.allowed) {
    checks.push({
      allowed: `each element one of ${human(props.allowed)}`,
      message: `each element must be one of ${human(props.allowed)}`,
      condition: `length(setsubtract(var.${name}, ${hclList(props.allowed)})) == 0`,
      schema: { items: { enum: [...props.allowed] } },
    });
  }
  if (props.pattern) {
    checks.push({
      allowed: `each element ${props.pattern.hint}`,
      message: `each element must be ${props.pattern.hint}`,
      condition: `alltrue([for item in var.${name} : can(regex(${hcl(anchored(props.pattern.regex))}, item))])`,
      schema: { items: { pattern: anchored(props.pattern.regex) } },
    });
  }
  if (props.maxItems !== undefined) {
    checks.push({
      allowed: `at most ${props.maxItems} distinct elements`,
      message: `must have at most ${props.maxItems} distinct elements`,
      condition: `length(var.${name}) <= ${props.maxItems} && length(distinct(var.${name})) == length(var.${name})`,
      schema: { maxItems: props.maxItems, uniqueItems: true },
    });
  }
  // JSON Schema: one `items` with every element keyword (enum and pattern together).
  const items: Record<string, unknown> = { type: 'string' };
  if (props.allowed) items.enum = [...props.allowed];
  if (props.pattern) items.pattern = anchored(props.pattern.regex);
  const d = declare(scope, {
    name,
    type: 'list(string)',
    doc: props.description,
    nullable: false,
    default: [...props.default],
    ...(props.allowed ? { allowed: props.allowed } : {}),
    ...(props.pattern ? { pattern: props.pattern } : {}),
    ...(props.maxItems !== undefined ? { maxItems: props.maxItems } : {}),
    schema: {
      type: 'array',
      items,
      ...(props.maxItems !== undefined ? { maxItems: props.maxItems, uniqueItems: true } : {}),
    },
    typeSchema: { type: 'array', items: { type: 'string' } },
    typeText: 'a list of strings',
    checks,
  });
  const v = new TerraformVariable(scope, name, {
    type: 'list(string)',
    description: d.description,
    nullable: false,
    default: [...props.default],
  });
  return attach(scope, v, d);
}

/** A map(string) variable (tags and the like). */
export function stringMapVariable(scope: Construct, name: string, props: StringMapVariableProps): TerraformVariable {
  const d = declare(scope, {
    name,
    type: 'map(string)',
    doc: props.description,
    nullable: false,
    default: { ...props.default },
    schema: { type: 'object', additionalProperties: { type: 'string' } },
    typeSchema: { type: 'object', additionalProperties: { type: 'string' } },
    typeText: 'a map of strings',
    checks: [],
  });
  return attach(
    scope,
    new TerraformVariable(scope, name, {
      type: 'map(string)',
      description: d.description,
      nullable: false,
      default: { ...props.default },
    }),
    d,
  );
}

/**
 * One check as the policy runs it: OPA's json.match_schema ignores `pattern`, so a pattern is
 * checked with Rego's regex.match (RE2, the same engine as Terraform's regex()).
 */
function policyCheck(check: VariableCheck): object {
  const items = check.schema.items as { pattern?: string } | undefined;
  if (typeof check.schema.pattern === 'string') return { regex: check.schema.pattern, message: check.message };
  if (items?.pattern) return { regex: items.pattern, each: true, message: check.message };
  return { schema: check.schema, message: check.message };
}

/**
 * The component's OPA policy for `atmos validate component` (settings.validation, schema_type
 * opa): per bad var, the sentence OpenTofu's validation prints, never a schema dump. The rules
 * are the declarations' own JSON Schema fragments, evaluated with OPA's `json.match_schema`;
 * arithmetic cross-variable rules are their `rego` conditions.
 */
export function variablesPolicy(component: string, scope: Construct): string {
  const { variables, rules } = stackEntry(scope);
  const lit = (value: unknown) => JSON.stringify(value);
  const declared = Object.fromEntries(
    variables.map((v) => [
      v.name,
      {
        type: v.typeSchema,
        type_message: `must be ${v.typeText}`,
        checks: v.checks.map((c) => policyCheck(c)),
      },
    ]),
  );
  const defaults = Object.fromEntries(variables.filter((v) => !v.required).map((v) => [v.name, v.default ?? null]));
  const schemaRules = rules
    .filter((r) => r.schema)
    .map((r) => ({ schema: r.schema, message: r.message, variables: r.variables, on: r.hcl?.on.node.id ?? '' }));
  const regoRules = rules.filter((r) => r.rego);
  return [
    `# ${component}: the variables' rules, for \`atmos validate component\` (settings.validation, schema_type opa).`,
    '# Generated by `npm run synth` (components/shared/variables.ts, variablesPolicy) from the',
    "# component's variable declarations. Do not edit: each message is the one OpenTofu's validation",
    '# prints for the same value.',
    'package atmos',
    '',
    'import rego.v1',
    '',
    `declared := ${lit(declared)}`,
    '',
    `defaults := ${lit(defaults)}`,
    '',
    `required := ${lit(variables.filter((v) => v.required).map((v) => v.name))}`,
    '',
    `schema_rules := ${lit(schemaRules)}`,
    '',
    "# The stack's vars over the declared defaults: the values Terraform would see.",
    'vars := object.union(defaults, object.get(input, "vars", {}))',
    '',
    '# json.match_schema takes an object or a string: one value is checked as {"value": value}.',
    'matches(value, schema) := json.match_schema({"value": value}, {"properties": {"value": schema}})[0]',
    '',
    '# Atmos renders the messages as Markdown, one paragraph for all: each message is escaped (a',
    '# hint like arn:aws:sns:<region>:... or a value with __ would lose characters) and ends a',
    '# paragraph, so the terminal shows exactly the sentence OpenTofu prints, one per line.',
    `say(text) := concat("", [regex.replace(text, ${lit('([\\\\`*_<>\\[\\]#~|])')}, ${lit('\\$1')}), "\\n"])`,
    '',
    'fails(value, check) if {',
    '\tcheck.schema',
    '\tnot matches(value, check.schema)',
    '}',
    '',
    'fails(value, check) if {',
    '\tnot check.each',
    '\tis_string(value)',
    '\tnot regex.match(check.regex, value)',
    '}',
    '',
    'fails(value, check) if {',
    '\tcheck.each',
    '\tsome item in value',
    '\tnot regex.match(check.regex, item)',
    '}',
    '',
    '# A required var set to null is reported once, as not set.',
    'unset_required(name, value) if {',
    '\tvalue == null',
    '\tname in required',
    '}',
    '',
    '# OpenTofu reports the first failing validation of a variable: its type, then its rules in',
    '# declaration order (a cross-variable rule on it comes after its own). So does this policy.',
    'stack_vars := object.get(input, "vars", {})',
    '',
    'check_fails(name, i) if {',
    '\tvalue := stack_vars[name]',
    '\tmatches(value, declared[name].type)',
    '\tfails(value, declared[name].checks[i])',
    '}',
    '',
    'earlier_fails(name, i) if {',
    '\tsome j, _ in declared[name].checks',
    '\tj < i',
    '\tcheck_fails(name, j)',
    '}',
    '',
    'var_fails(name) if not matches(stack_vars[name], declared[name].type)',
    '',
    'var_fails(name) if {',
    '\tsome i, _ in declared[name].checks',
    '\tcheck_fails(name, i)',
    '}',
    '',
    'got(names) := concat(", ", [sprintf("%s = %s", [name, json.marshal(object.get(vars, name, null))]) | some name in names])',
    '',
    'errors contains message if {',
    '\tsome name, value in stack_vars',
    '\tnot declared[name]',
    `\tmessage := say(sprintf("%s: not a variable of ${component} (its variables: %s)", [name, concat(", ", sort(object.keys(declared)))]))`,
    '}',
    '',
    'errors contains message if {',
    '\tsome name in required',
    '\tobject.get(stack_vars, name, null) == null',
    '\tmessage := say(sprintf("%s: required (no default), but the stack does not set it", [name]))',
    '}',
    '',
    'errors contains message if {',
    '\tsome name, value in stack_vars',
    '\tnot matches(value, declared[name].type)',
    '\tnot unset_required(name, value)',
    '\tmessage := say(sprintf("%s: %s (got %s)", [name, declared[name].type_message, json.marshal(value)]))',
    '}',
    '',
    'errors contains message if {',
    '\tsome name, value in stack_vars',
    '\tsome i, check in declared[name].checks',
    '\tcheck_fails(name, i)',
    '\tnot earlier_fails(name, i)',
    '\tmessage := say(sprintf("%s: %s (got %s)", [name, check.message, json.marshal(value)]))',
    '}',
    '',
    'errors contains message if {',
    '\tsome rule in schema_rules',
    '\tnot json.match_schema(stack_vars, rule.schema)[0]',
    '\tnot var_fails(rule.on)',
    '\tmessage := say(sprintf("%s (got %s)", [rule.message, got(rule.variables)]))',
    '}',
    ...regoRules.flatMap((r) => [
      '',
      'errors contains message if {',
      ...r.variables.map((n) => `\tis_number(vars[${lit(n)}])`),
      ...(r.hcl ? [`\tnot var_fails(${lit(r.hcl.on.node.id)})`] : []),
      `\t${r.rego}`,
      `\tmessage := say(sprintf("%s (got %s)", [${lit(r.message)}, got(${lit(r.variables)})]))`,
      '}',
    ]),
    '',
  ].join('\n');
}
