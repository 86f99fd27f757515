/**
 * A deliberately small evaluator for the Terraform template expressions that occur in the
 * synthesized JSON of our components, so that tests can render a policy document for concrete
 * values (names, account 123456789012, partition aws) without Terraform.
 *
 * Supported: string templates with `${...}` interpolations; literals (strings without nested
 * templates, numbers, true/false/null); lists `[a, b]`; references `var.x`, `local.x`,
 * `data.aws_partition.<n>.partition`, `data.aws_caller_identity.<n>.account_id` and any other
 * reference the caller supplies by its text (e.g. `aws_sqs_queue.dlq.arn`); `a.b[0].c`;
 * operators `== != < <= > >= && || !`, `cond ? a : b`, parentheses; functions `join`, `length`,
 * `concat`. Anything else throws, naming the expression, so a new construct in a component
 * fails the test loudly instead of being rendered wrong.
 */
import type { TerraformJson } from './synth';

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

export interface EvalInputs {
  /** Variable values; variables not given here take their declared default. */
  readonly vars?: Readonly<Record<string, Value>>;
  /** data.aws_partition.*.partition @default "aws" */
  readonly partition?: string;
  /** data.aws_caller_identity.*.account_id @default "123456789012" */
  readonly accountId?: string;
  /** Values of other references by their text, e.g. { "aws_sqs_queue.dlq.arn": "arn:..." }. */
  readonly references?: Readonly<Record<string, Value>>;
}

// ------------------------------------------------------------------------------ tokenizer

type Tok =
  | { kind: 'ident'; text: string }
  | { kind: 'num'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'op'; text: string };

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '?', ':', '.', ',', '(', ')', '[', ']'];

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i))!;
      toks.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i))!;
      toks.push({ kind: 'num', value: Number(m[0]) });
      i += m[0].length;
    } else if (c === '"') {
      let j = i + 1;
      let value = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') {
          const e = src[j + 1];
          value += e === 'n' ? '\n' : e === 't' ? '\t' : e!;
          j += 2;
        } else if (src.startsWith('${', j)) {
          throw new Error(`unsupported: template inside a string literal in "${src}"`);
        } else {
          value += src[j];
          j++;
        }
      }
      if (j >= src.length) throw new Error(`unterminated string in "${src}"`);
      toks.push({ kind: 'str', value });
      i = j + 1;
    } else {
      const op = OPS.find((o) => src.startsWith(o, i));
      if (!op) throw new Error(`unsupported character "${c}" in "${src}"`);
      toks.push({ kind: 'op', text: op });
      i += op.length;
    }
  }
  return toks;
}

// ------------------------------------------------------------------------------ parser / evaluator

type Resolve = (path: string) => Value;

class Parser {
  private pos = 0;
  constructor(
    private readonly src: string,
    private readonly toks: Tok[],
    private readonly resolve: Resolve,
  ) {}

  parseAll(): Value {
    const v = this.ternary();
    if (this.pos !== this.toks.length) this.fail('trailing tokens');
    return v;
  }

  private fail(msg: string): never {
    throw new Error(`${msg} in expression "${this.src}"`);
  }
  private peek(): Tok | undefined {
    return this.toks[this.pos];
  }
  private isOp(text: string): boolean {
    const t = this.peek();
    return t?.kind === 'op' && t.text === text;
  }
  private expectOp(text: string): void {
    if (!this.isOp(text)) this.fail(`expected "${text}"`);
    this.pos++;
  }

  private ternary(): Value {
    const cond = this.or();
    if (!this.isOp('?')) return cond;
    this.pos++;
    const a = this.ternary();
    this.expectOp(':');
    const b = this.ternary();
    if (typeof cond !== 'boolean') this.fail('condition is not a bool');
    return cond ? a : b;
  }
  private or(): Value {
    let v = this.and();
    while (this.isOp('||')) {
      this.pos++;
      const r = this.and();
      v = Boolean(v) || Boolean(r);
    }
    return v;
  }
  private and(): Value {
    let v = this.comparison();
    while (this.isOp('&&')) {
      this.pos++;
      const r = this.comparison();
      v = Boolean(v) && Boolean(r);
    }
    return v;
  }
  private comparison(): Value {
    const l = this.unary();
    const t = this.peek();
    if (t?.kind !== 'op' || !['==', '!=', '<', '<=', '>', '>='].includes(t.text)) return l;
    this.pos++;
    const r = this.unary();
    switch (t.text) {
      case '==':
        return JSON.stringify(l) === JSON.stringify(r);
      case '!=':
        return JSON.stringify(l) !== JSON.stringify(r);
      default: {
        if (typeof l !== 'number' || typeof r !== 'number') this.fail(`"${t.text}" needs numbers`);
        return t.text === '<' ? l < r : t.text === '<=' ? l <= r : t.text === '>' ? l > r : l >= r;
      }
    }
  }
  private unary(): Value {
    if (this.isOp('!')) {
      this.pos++;
      const v = this.unary();
      if (typeof v !== 'boolean') this.fail('"!" needs a bool');
      return !v;
    }
    return this.postfix();
  }
  private postfix(): Value {
    const t = this.peek();
    if (
      t?.kind === 'ident' &&
      !['true', 'false', 'null'].includes(t.text) &&
      this.toks[this.pos + 1]?.kind === 'op' &&
      (this.toks[this.pos + 1] as { text: string }).text === '('
    ) {
      return this.call();
    }
    if (t?.kind === 'ident' && !['true', 'false', 'null'].includes(t.text)) return this.reference();
    return this.primary();
  }
  private call(): Value {
    const name = (this.toks[this.pos] as { text: string }).text;
    this.pos += 2;
    const args: Value[] = [];
    while (!this.isOp(')')) {
      args.push(this.ternary());
      if (this.isOp(',')) this.pos++;
      else if (!this.isOp(')')) this.fail('expected "," or ")"');
    }
    this.pos++;
    switch (name) {
      case 'join': {
        const [sep, list] = args;
        if (typeof sep !== 'string' || !Array.isArray(list)) this.fail('join(sep, list)');
        return list.map((x) => String(x)).join(sep);
      }
      case 'length': {
        const [x] = args;
        if (typeof x === 'string' || Array.isArray(x)) return x.length;
        if (x !== null && typeof x === 'object') return Object.keys(x).length;
        return this.fail('length() of a non-collection');
      }
      case 'concat':
        if (!args.every(Array.isArray)) this.fail('concat(list...)');
        return (args as Value[][]).flat();
      default:
        return this.fail(`unsupported function ${name}()`);
    }
  }
  /** A reference: ident ('.' ident | '[' num ']')*, resolved as a whole by its text. */
  private reference(): Value {
    let path = (this.toks[this.pos] as { text: string }).text;
    this.pos++;
    for (;;) {
      if (this.isOp('.')) {
        this.pos++;
        const t = this.peek();
        if (t?.kind !== 'ident') this.fail('expected an attribute name');
        path += `.${t.text}`;
        this.pos++;
      } else if (this.isOp('[')) {
        this.pos++;
        const t = this.peek();
        if (t?.kind !== 'num') this.fail('only [<number>] indexes are supported');
        path += `[${t.value}]`;
        this.pos++;
        this.expectOp(']');
      } else {
        return this.resolve(path);
      }
    }
  }
  private primary(): Value {
    const t = this.peek();
    if (!t) return this.fail('unexpected end');
    this.pos++;
    if (t.kind === 'num') return t.value;
    if (t.kind === 'str') return t.value;
    if (t.kind === 'ident') return t.text === 'true' ? true : t.text === 'false' ? false : null;
    if (t.text === '(') {
      const v = this.ternary();
      this.expectOp(')');
      return v;
    }
    if (t.text === '[') {
      const items: Value[] = [];
      while (!this.isOp(']')) {
        items.push(this.ternary());
        if (this.isOp(',')) this.pos++;
        else if (!this.isOp(']')) this.fail('expected "," or "]"');
      }
      this.pos++;
      return items;
    }
    return this.fail(`unexpected "${t.text}"`);
  }
}

/** Splits a template string into literal text and `${...}` expression sources. */
export function templateParts(template: string): ({ text: string } | { expr: string })[] {
  const parts: ({ text: string } | { expr: string })[] = [];
  let i = 0;
  let text = '';
  while (i < template.length) {
    if (template.startsWith('$${', i)) {
      text += '${';
      i += 3;
    } else if (template.startsWith('${', i)) {
      if (text) parts.push({ text });
      text = '';
      let depth = 1;
      let j = i + 2;
      let inString = false;
      for (; j < template.length && depth > 0; j++) {
        const c = template[j];
        if (inString) {
          if (c === '\\') j++;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '{') depth++;
        else if (c === '}') depth--;
      }
      if (depth !== 0) throw new Error(`unterminated interpolation in "${template}"`);
      parts.push({ expr: template.slice(i + 2, j - 1) });
      i = j;
    } else {
      text += template[i];
      i++;
    }
  }
  if (text) parts.push({ text });
  return parts;
}

/** Evaluates Terraform JSON values of one component for concrete inputs. */
export class TerraformEvaluator {
  private readonly localsInProgress = new Set<string>();

  constructor(
    private readonly tf: TerraformJson,
    private readonly inputs: EvalInputs = {},
  ) {}

  /** Evaluates a string template (or a nested JSON value) to a concrete value. */
  value(v: unknown): Value {
    if (typeof v === 'string') return this.template(v);
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.value(x)]));
    }
    return v as Value;
  }

  /** Evaluates one expression source (the text inside `${...}`). */
  expression(src: string): Value {
    return new Parser(src, tokenize(src), (path) => this.resolve(path)).parseAll();
  }

  private template(t: string): Value {
    const parts = templateParts(t);
    if (parts.length === 1 && 'expr' in parts[0]!) return this.expression(parts[0].expr);
    return parts
      .map((p) => {
        if ('text' in p) return p.text;
        const v = this.expression(p.expr);
        if (v === null || typeof v === 'object')
          throw new Error(`interpolation "\${${p.expr}}" is not a primitive in "${t}"`);
        return String(v);
      })
      .join('');
  }

  private resolve(path: string): Value {
    const given = this.inputs.references?.[path];
    if (given !== undefined) return given;
    let m = /^var\.([A-Za-z0-9_-]+)$/.exec(path);
    if (m) {
      const name = m[1]!;
      const decl = this.tf.variable[name];
      if (!decl) throw new Error(`var.${name} is not declared by the component`);
      if (this.inputs.vars && name in this.inputs.vars) return this.inputs.vars[name]!;
      if (!('default' in decl)) throw new Error(`var.${name} has no default: give it a value`);
      return decl.default as Value;
    }
    m = /^local\.([A-Za-z0-9_-]+)$/.exec(path);
    if (m) {
      const name = m[1]!;
      const locals = (this.tf.locals ?? {}) as Record<string, unknown>;
      if (!(name in locals)) throw new Error(`local.${name} is not declared by the component`);
      if (this.localsInProgress.has(name)) throw new Error(`local.${name} refers to itself`);
      this.localsInProgress.add(name);
      try {
        return this.value(locals[name]);
      } finally {
        this.localsInProgress.delete(name);
      }
    }
    m = /^data\.aws_partition\.([A-Za-z0-9_-]+)\.partition$/.exec(path);
    if (m && this.tf.data?.aws_partition?.[m[1]!]) return this.inputs.partition ?? 'aws';
    m = /^data\.aws_caller_identity\.([A-Za-z0-9_-]+)\.account_id$/.exec(path);
    if (m && this.tf.data?.aws_caller_identity?.[m[1]!]) return this.inputs.accountId ?? '123456789012';
    throw new Error(`no value for reference ${path} (give it in EvalInputs.references)`);
  }
}
