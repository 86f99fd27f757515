/**
 * The CDKTF ⇄ Atmos contract, checked with the real Atmos CLI:
 * - every var a stack sets for a component is declared by that component, and every variable
 *   without a default is set, for every deploy stack × component;
 * - `atmos validate stacks` and every component's JSON Schema accept the deploy stacks;
 * - invalid stack files (test/fixtures/invalid-stacks) are rejected, each with exactly the
 *   sentences its `# atmos:` header lines give (the generated OPA policies print OpenTofu's
 *   message per bad var, never a schema dump), and by the committed JSON Schema too unless its
 *   `# jsonschema: accepts` header says the rule is beyond JSON Schema (arithmetic, settings);
 * - `atmos terraform generate varfile|backend` write into the component folder and nowhere else;
 * - the deploy workflow lists every component in an order that respects settings.depends_on.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../components/registry';
import { describeStacksArgs } from '../../scripts/lib/atmos';
import { atmos, atmosJson, atmosValidationMessages, DEPLOY_STACKS } from '../support/atmos';
import { atmosSandbox } from '../support/atmos-sandbox';
import { REPO_ROOT } from '../support/paths';
import { componentPath, readComponent } from '../support/synth';

type DescribedStacks = Record<
  string,
  { components: { terraform: Record<string, { vars: Record<string, unknown>; settings?: Record<string, unknown> }> } }
>;

function synthFast(): string {
  return execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'synth.mjs')], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
}

let described: DescribedStacks;
beforeAll(async () => {
  described = await atmosJson<DescribedStacks>(describeStacksArgs({ sections: ['vars', 'settings'] }));
});
const componentNames = Object.keys(COMPONENTS);

describe('deploy stacks', () => {
  it('are exactly local, dev, staging and prod, each with every component', () => {
    expect(Object.keys(described).sort()).toEqual([...DEPLOY_STACKS].sort());
    for (const stack of DEPLOY_STACKS) {
      expect(Object.keys(described[stack]!.components.terraform).sort()).toEqual([...componentNames].sort());
    }
  });

  it('pass atmos validate stacks', async () => {
    const r = await atmos(['validate', 'stacks']);
    expect(r.stderr + r.stdout).not.toMatch(/error/i);
    expect(r.status).toBe(0);
  });

  describe.each(DEPLOY_STACKS)('stack %s', (stack) => {
    it.each(componentNames)('%s: every var is declared and every required variable is set', (component) => {
      const vars = described[stack]!.components.terraform[component]!.vars;
      const declared = readComponent(component).variable;
      const undeclared = Object.keys(vars).filter((name) => !(name in declared));
      expect(undeclared, `vars set by stack ${stack} but not declared by ${component}`).toEqual([]);
      const required = Object.entries(declared)
        .filter(([, v]) => !('default' in v))
        .map(([name]) => name);
      const missing = required.filter((name) => vars[name] === undefined || vars[name] === null);
      expect(missing, `required variables of ${component} that stack ${stack} does not set`).toEqual([]);
    });

    it.each(componentNames)('%s: passes the component JSON Schema (settings.validation)', async (component) => {
      const r = await atmos(['validate', 'component', component, '-s', stack]);
      expect(r.status, r.stderr + r.stdout).toBe(0);
    });
  });
});

describe('invalid stack files are rejected before any API call', () => {
  const fixtureDir = join(REPO_ROOT, 'test', 'fixtures', 'invalid-stacks');
  const cases = readdirSync(fixtureDir).filter((f) => f.endsWith('.yaml'));

  it('has fixtures', () => expect(cases.length).toBeGreaterThanOrEqual(8));

  it.each(cases)('%s', async (file) => {
    const content = readFileSync(join(fixtureDir, file), 'utf8');
    const header = (key: string) => content.match(new RegExp(`^# ${key}: (.*)$`, 'm'))?.[1]?.trim();
    const headers = (key: string) =>
      [...content.matchAll(new RegExp(`^# ${key}: (.*)$`, 'gm'))].map((m) => m[1]!.trim());
    const check = header('check');
    expect(check, `${file} needs a "# check:" header`).toBeDefined();
    const sandbox = atmosSandbox({ name: file, content });
    try {
      const [kind, component] = check!.split(/\s+/);
      if (kind === 'stacks') {
        const expected = header('expect');
        expect(expected, `${file} needs an "# expect:" header`).toBeDefined();
        const r = await atmos(['validate', 'stacks'], { cwd: sandbox.dir });
        expect(r.status, `${file} was accepted`).not.toBe(0);
        expect(r.stdout + r.stderr).toMatch(new RegExp(expected!, 's'));
        return;
      }
      const stack = header('stack') ?? 'dev';
      const sentences = headers('atmos');
      expect(sentences.length, `${file} needs "# atmos: <sentence>" header lines`).toBeGreaterThan(0);
      const r = await atmos(['validate', 'component', component!, '-s', stack], { cwd: sandbox.dir });
      const output = r.stdout + r.stderr;
      expect(r.status, `${file} was accepted`).not.toBe(0);
      // Exactly these sentences, one per bad var, and nothing like a JSON Schema error dump.
      expect(atmosValidationMessages(output).sort(), output).toEqual([...sentences].sort());
      expect(output).not.toMatch(/instanceLocation|keywordLocation|"valid": false/);

      // The committed JSON Schema holds the same rules: it rejects the fixture too.
      const schema = await atmos(
        [
          'validate',
          'component',
          component!,
          '-s',
          stack,
          '--schema-type',
          'jsonschema',
          '--schema-path',
          `${component}.json`,
        ],
        { cwd: sandbox.dir },
      );
      if (header('jsonschema') === 'accepts') {
        expect(schema.status, `the JSON Schema now rejects ${file}: drop its "# jsonschema: accepts"`).toBe(0);
      } else {
        expect(schema.status, `the JSON Schema of ${component} accepts ${file}`).not.toBe(0);
      }
    } finally {
      sandbox.dispose();
    }
  });
});

/** Files (path → mtime) under the places Atmos could write to: components/, stacks/, the root. */
function snapshot(): Map<string, number> {
  const files = new Map<string, number>();
  const walk = (dir: string, recurse: boolean) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (recurse && entry.name !== '.terraform') walk(path, true);
      } else {
        files.set(relative(REPO_ROOT, path), statSync(path).mtimeMs);
      }
    }
  };
  walk(REPO_ROOT, false);
  walk(join(REPO_ROOT, 'components'), true);
  walk(join(REPO_ROOT, 'stacks'), true);
  return files;
}

// In this file, not synth-contract: it writes into a component folder, which the generate tests
// below watch; tests of one file never run at the same time.
describe('re-synthesis next to Terraform state', () => {
  it('re-synth leaves .terraform/, lock files, varfiles and state alone, and rewrites nothing unchanged', () => {
    const dir = componentPath(componentNames[0]!);
    const keep = [
      join(dir, '.terraform', 'providers', 'marker'),
      join(dir, '.terraform.lock.hcl'),
      join(dir, 'terraform.tfstate'),
      join(dir, 'test-keep.terraform.tfvars.json'),
    ];
    try {
      mkdirSync(join(dir, '.terraform', 'providers'), { recursive: true });
      for (const path of keep) writeFileSync(path, 'keep me');
      const mainBefore = statSync(join(dir, 'main.tf.json')).mtimeMs;
      const out = synthFast();
      for (const path of keep) expect(readFileSync(path, 'utf8'), path).toBe('keep me');
      expect(statSync(join(dir, 'main.tf.json')).mtimeMs).toBe(mainBefore);
      expect(out).toMatch(new RegExp(`unchanged +components/${componentNames[0]}/main.tf.json`));
    } finally {
      rmSync(join(dir, '.terraform'), { recursive: true, force: true });
      for (const path of keep) rmSync(path, { force: true });
    }
  });
});

describe('atmos terraform generate', () => {
  const generated: string[] = [];
  afterAll(() => {
    for (const path of generated) rmSync(path, { force: true });
  });

  describe.each(DEPLOY_STACKS)('stack %s', (stack) => {
    it.each(componentNames)(
      '%s: varfile and backend land in the component folder and match the contract',
      async (component) => {
        const before = snapshot();
        const dir = componentPath(component);
        const varfile = join(dir, `${stack}-${component}.terraform.tfvars.json`);
        const backendFile = join(dir, 'backend.tf.json');
        generated.push(varfile, backendFile);

        for (const what of ['varfile', 'backend']) {
          const r = await atmos(['terraform', 'generate', what, component, '-s', stack]);
          expect(r.status, r.stderr).toBe(0);
        }

        const vars = JSON.parse(readFileSync(varfile, 'utf8')) as Record<string, unknown>;
        expect(vars).toEqual(described[stack]!.components.terraform[component]!.vars);

        const backend = JSON.parse(readFileSync(backendFile, 'utf8')) as {
          terraform: { backend: Record<string, Record<string, unknown>> };
        };
        const [type, config] = Object.entries(backend.terraform.backend)[0]!;
        if (stack === 'local') {
          expect(type).toBe('local');
          // Relative, and outside the component folder (state survives re-synth and rm -rf of the folder).
          expect(config.path).toBe(`../../.state/local/${component}/terraform.tfstate`);
        } else {
          expect(type).toBe('s3');
          expect(config).toMatchObject({
            bucket: `acme-ue1-${stack}-tfstate`,
            key: 'terraform.tfstate',
            workspace_key_prefix: component,
            encrypt: true,
            use_lockfile: true,
          });
        }
        expect(JSON.stringify(backend)).not.toMatch(/"\/(root|home|tmp|work)\//);

        const after = snapshot();
        const changed = [...after.entries()]
          .filter(([path, mtime]) => before.get(path) !== mtime)
          .map(([path]) => path)
          .filter((path) => !path.startsWith(`components/${component}/`));
        expect(changed, 'files written outside the component folder').toEqual([]);
      },
    );
  });
});

describe('deploy workflow', () => {
  const workflow = readFileSync(join(REPO_ROOT, 'stacks', 'workflows', 'deploy.yaml'), 'utf8');
  const order = (name: string) => {
    const block = workflow.split(/^ {2}(?=[a-z-]+:$)/m).find((b) => b.startsWith(`${name}:`)) ?? '';
    return [...block.matchAll(/- command: terraform (?:deploy|plan) ([a-z0-9-]+)/g)].map((m) => m[1]!);
  };

  it.each(['plan-all', 'deploy-all'])('%s covers every component once, dependencies first', (name) => {
    const steps = order(name);
    expect([...steps].sort()).toEqual([...componentNames].sort());
    for (const stack of DEPLOY_STACKS) {
      for (const [index, component] of steps.entries()) {
        const settings = described[stack]!.components.terraform[component]!.settings as
          | { depends_on?: Record<string, { component: string }> }
          | undefined;
        for (const dependency of Object.values(settings?.depends_on ?? {})) {
          expect(
            steps.indexOf(dependency.component),
            `${stack}: ${component} depends on ${dependency.component}`,
          ).toBeLessThan(index);
        }
      }
    }
  });
});
