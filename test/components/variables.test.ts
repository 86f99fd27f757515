/**
 * Variables are declared once, as data (components/shared/variables.ts): the declarations that
 * stackVariables() reads back are exactly the synthesized variables, every description is the
 * one-line doc followed by the generated "Default: … Allowed: …" text, and no doc retypes a
 * default or a range by hand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../components/registry';
import { stackVariables } from '../../components/shared/variables';
import { readComponent } from '../support/synth';

const outdir = mkdtempSync(join(tmpdir(), 'variables-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
// Only constructed, never synthesized: the declarations are recorded as the stacks are built.
const app = new App({ outdir, skipValidation: true });
const declared = Object.fromEntries(
  Object.entries(COMPONENTS).map(([name, build]) => [name, stackVariables(build(app))] as const),
);

describe.each(Object.keys(COMPONENTS))('%s', (component) => {
  const { variables, rules } = declared[component]!;
  const tf = readComponent(component).variable;

  it('declares exactly the synthesized variables, with their type, default and description', () => {
    expect(variables.map((v) => v.name).sort()).toEqual(Object.keys(tf).sort());
    for (const v of variables) {
      const json = tf[v.name]!;
      expect(json.type, v.name).toBe(v.type);
      expect(json.description, v.name).toBe(`${v.doc} ${v.constraints}`);
      expect('default' in json, v.name).toBe(!v.required);
      if (!v.required) expect(json.default, v.name).toEqual(v.default);
      // One validation per check, plus one per cross-variable rule that OpenTofu checks on it.
      const onIt = rules.filter((r) => r.hcl?.on.node.id === v.name).length;
      expect((json.validation ?? []).length, v.name).toBe(v.checks.length + onIt);
    }
  });

  it('has one-line docs that leave the default, range and allowed values to the generated text', () => {
    for (const v of variables) {
      expect(v.doc, v.name).not.toMatch(/\bDefault\b|\bRange\b|\bOne of\b|\bRequired\.|\n/);
      expect(v.constraints, v.name).toMatch(v.required ? /^Required\./ : /^Default: /);
    }
  });

  it('gives every cross-variable rule a message that starts with a variable it reads', () => {
    for (const r of rules) {
      const subject = r.message.split(':')[0]!;
      expect(r.variables, r.message).toContain(subject);
      expect(
        r.variables.every((n) => variables.some((v) => v.name === n)),
        r.message,
      ).toBe(true);
    }
  });
});
