/**
 * Finding a variable's validation block by what it says, not by its position: the order of the
 * blocks is an accident of the declaration (range first, then the cross-variable rules), and a
 * test that reads `validation![1]` silently checks another rule when one is added.
 */
import type { TerraformJson } from './synth';

export interface ValidationJson {
  readonly condition: string;
  readonly error_message: string;
}

/**
 * The one validation of `tf.variable[name]` whose error message starts with `start` (a string)
 * or matches it (a RegExp). Throws, listing the messages there are, when none or several match.
 */
export function validationOf(tf: TerraformJson, name: string, start: string | RegExp): ValidationJson {
  const variable = tf.variable[name];
  if (!variable) throw new Error(`no variable ${name}`);
  const all = variable.validation ?? [];
  const matches = all.filter((v) =>
    typeof start === 'string' ? v.error_message.startsWith(start) : start.test(v.error_message),
  );
  if (matches.length !== 1) {
    throw new Error(
      `${matches.length} validations of ${name} match ${String(start)}; its messages:\n` +
        all.map((v) => `  ${v.error_message}`).join('\n'),
    );
  }
  return matches[0]!;
}

/** The error messages of `tf.variable[name]`'s validations, in order (for exact-set checks). */
export function validationMessages(tf: TerraformJson, name: string): string[] {
  return (tf.variable[name]?.validation ?? []).map((v) => v.error_message);
}
