/**
 * What every synthesized component promises Atmos and the people reviewing its plan:
 * no backend, no machine-specific path, the shared label/tags/provider, documented variables,
 * alarms with dimensions; and that both synth paths write the same JSON without ever touching
 * what Terraform keeps in the component folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../components/registry';
import { REPO_ROOT } from '../support/paths';
import { alarmsOf, componentPath, readComponent } from '../support/synth';

const componentNames = Object.keys(COMPONENTS);
const COMMON_VARIABLES = ['region', 'namespace', 'environment', 'stage', 'name', 'tags', 'alarm_topic_arn'];

describe.each(componentNames)('%s', (component) => {
  const raw = readFileSync(join(componentPath(component), 'main.tf.json'), 'utf8');
  const tf = readComponent(component);

  it('has no backend block (Atmos writes backend.tf.json)', () => {
    expect(tf.terraform?.backend).toBeUndefined();
  });

  it('holds no absolute or machine-specific path', () => {
    expect(raw).not.toMatch(/\/(root|home|tmp|work|Users)\//);
    expect(raw).not.toMatch(/[A-Z]:\\\\/);
    expect(raw).not.toContain(REPO_ROOT);
  });

  it('pins the AWS provider and configures it from variables with the shared tags', () => {
    expect(tf.terraform?.required_providers).toEqual({ aws: { source: 'hashicorp/aws', version: '~> 6.25' } });
    expect(tf.provider?.aws).toEqual([{ region: '${var.region}', default_tags: [{ tags: '${local.label_tags}' }] }]);
    expect(tf.locals?.label_id).toBe('${join("-", [var.namespace, var.environment, var.stage, var.name])}');
    expect(tf.locals?.label_tags).toContain(`"Component" = "${component}"`);
  });

  it('declares the common label variables, and documents every variable', () => {
    for (const name of COMMON_VARIABLES) expect(tf.variable[name], name).toBeDefined();
    for (const [name, variable] of Object.entries(tf.variable)) {
      expect(variable.description, `${name} has no description`).toMatch(/\w{3,}/);
      expect(variable.type, `${name} has no type`).toBeDefined();
    }
  });

  it('gives every alarm dimensions, a description and the topic actions', () => {
    for (const [id, alarm] of Object.entries(alarmsOf(tf))) {
      const metricQueries = (alarm.metric_query as { metric?: { dimensions?: object } }[] | undefined) ?? [];
      const dimensionSets = alarm.dimensions
        ? [alarm.dimensions]
        : metricQueries.filter((q) => q.metric).map((q) => q.metric!.dimensions);
      expect(dimensionSets.length, `${id} watches no metric`).toBeGreaterThan(0);
      for (const dims of dimensionSets)
        expect(Object.keys(dims ?? {}).length, `${id} has no dimensions`).toBeGreaterThan(0);
      expect(alarm.alarm_description, id).toBeTruthy();
      expect(alarm.alarm_actions, id).toContain('var.alarm_topic_arn');
    }
  });

  it('has a JSON Schema for settings.validation that refuses undeclared vars', () => {
    const schema = JSON.parse(
      readFileSync(join(REPO_ROOT, 'stacks', 'schemas', 'jsonschema', `${component}.json`), 'utf8'),
    );
    expect(Object.keys(schema.properties.vars.properties).sort()).toEqual(Object.keys(tf.variable).sort());
    expect(schema.properties.vars.additionalProperties).toBe(false);
  });
});

describe('synthesis', () => {
  it('`cdktf synth` (the standard CLI) writes the same JSON as the fast path', () => {
    const fast = Object.fromEntries(
      componentNames.map((c) => [c, readFileSync(join(componentPath(c), 'main.tf.json'), 'utf8')]),
    );
    const outdir = mkdtempSync(join(tmpdir(), 'cdktf-out-'));
    try {
      execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'cdktf'), ['synth', '--output', outdir], {
        cwd: REPO_ROOT,
        env: { ...process.env, CHECKPOINT_DISABLE: '1', CI: 'true' },
        stdio: 'pipe',
        timeout: 180_000,
      });
      for (const c of componentNames) {
        expect(readFileSync(join(outdir, 'stacks', c, 'cdk.tf.json'), 'utf8'), c).toBe(fast[c]);
        expect(readFileSync(join(componentPath(c), 'main.tf.json'), 'utf8'), c).toBe(fast[c]);
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 180_000);

  it('refuses an unknown component name with the list of known ones', () => {
    expect(() =>
      execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'synth.mjs'), 'kinesis-ingets'], {
        cwd: REPO_ROOT,
        stdio: 'pipe',
      }),
    ).toThrow(/Unknown component "kinesis-ingets"; known components: [a-z0-9-, ]*kinesis-ingest/);
  });
});
