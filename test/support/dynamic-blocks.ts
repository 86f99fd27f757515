/**
 * Expands the `dynamic` blocks of a synthesized block body as Terraform does, for the shapes the
 * components write: `for_each` is an expression the caller evaluates (`evaluate`) or a reference
 * to the enclosing iterator (`${<block>.value.<attr>}`), and `content` reads only its iterators'
 * `${<block>.value.<attr>}`. Anything else inside `content` is left as it is.
 */
import type { TerraformJson } from './synth';

type Body = Record<string, unknown>;
type Scope = Readonly<Record<string, Body>>;

const ITERATOR_REF = /^\$\{([a-z_]+)\.value\.([a-z_]+)\}$/;

function fromScope(value: unknown, scope: Scope): unknown {
  if (typeof value !== 'string') return value;
  const m = ITERATOR_REF.exec(value);
  if (!m || !(m[1]! in scope)) return value;
  const item = scope[m[1]!]!;
  if (!(m[2]! in item)) throw new Error(`test: ${value}: the iterator's value has no attribute ${m[2]}`);
  return item[m[2]!];
}

export function expandDynamic(body: Body, evaluate: (expression: string) => unknown, scope: Scope = {}): Body {
  const out: Body = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === 'dynamic') {
      for (const [name, spec] of Object.entries(value as Record<string, Body>)) {
        const iterator = (spec.iterator as string | undefined) ?? name;
        const fromIterator = fromScope(spec.for_each, scope);
        const items = fromIterator !== spec.for_each ? fromIterator : evaluate(spec.for_each as string);
        if (!Array.isArray(items)) throw new Error(`test: dynamic ${name}: for_each is not a list: ${spec.for_each}`);
        out[name] = items.map((item: Body) =>
          expandDynamic(spec.content as Body, evaluate, { ...scope, [iterator]: item }),
        );
      }
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      out[key] = expandDynamic(value as Body, evaluate, scope);
    } else {
      out[key] = fromScope(value, scope);
    }
  }
  return out;
}

/**
 * An evaluator for `${var.<bool> ? local.<path> : local.<path>}`, the for_each of a dynamic block
 * choosing between two lists held in locals, with the variable's value from `vars`.
 */
export function localsConditional(tf: TerraformJson, vars: Readonly<Record<string, unknown>>) {
  const local = (path: string): unknown =>
    path.split('.').reduce<unknown>((v, part) => (v as Body | undefined)?.[part], tf.locals);
  return (expression: string): unknown => {
    const m = /^\$\{var\.([a-z_]+) \? local\.([a-z_.]+) : local\.([a-z_.]+)\}$/.exec(expression);
    if (!m) throw new Error(`test: cannot evaluate ${expression}`);
    if (!(m[1]! in vars)) throw new Error(`test: no value for var.${m[1]}`);
    const value = local(vars[m[1]!] ? m[2]! : m[3]!);
    if (value === undefined) throw new Error(`test: ${expression}: no such local`);
    return value;
  };
}
