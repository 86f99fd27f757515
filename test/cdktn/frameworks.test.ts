/**
 * The library under both frameworks. tools/cdktn/synth.mjs bundles the same app (synthesizeAll)
 * once against CDKTF (cdktf + @cdktf/provider-aws, the default) and once against CDK Terrain
 * (cdktn + @cdktn/provider-aws through esbuild aliases). Every component's JSON must be the same
 * except the framework version in `//.metadata.version`, the JSON Schemas must be the same bytes,
 * and the CDKTF build of that entry must equal what `npm run synth` wrote.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../components/registry';
import { REPO_ROOT } from '../support/paths';

const SYNTH = join(REPO_ROOT, 'tools', 'cdktn', 'synth.mjs');
const CDKTN_DIR = join(REPO_ROOT, 'tools', 'cdktn');
const FRAMEWORKS = ['cdktf', 'cdktn'] as const;
type Framework = (typeof FRAMEWORKS)[number];
const componentNames = Object.keys(COMPONENTS);

const packageVersion = (dir: string, pkg: string): string =>
  (JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
const VERSIONS: Record<Framework, string> = {
  cdktf: packageVersion(REPO_ROOT, 'cdktf'),
  cdktn: packageVersion(CDKTN_DIR, 'cdktn'),
};

/** Every path (as a list of keys) at which a and b differ. */
function differences(a: unknown, b: unknown, path: string[] = []): string[][] {
  if (
    a !== null &&
    b !== null &&
    typeof a === 'object' &&
    typeof b === 'object' &&
    Array.isArray(a) === Array.isArray(b)
  ) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], [...path, k]),
    );
  }
  return Object.is(a, b) ? [] : [path];
}

const get = (o: unknown, path: string[]): unknown =>
  path.reduce((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);

let scratch: string;
const out = (f: Framework) => join(scratch, f);

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'cdktn-frameworks-'));
  for (const f of FRAMEWORKS) {
    mkdirSync(out(f));
    execFileSync(process.execPath, [SYNTH, '--framework', f], {
      cwd: REPO_ROOT,
      stdio: 'pipe',
      env: {
        ...process.env,
        SYNTH_COMPONENTS_DIR: join(out(f), 'components'),
        SYNTH_SCHEMAS_DIR: join(out(f), 'schemas'),
        SYNTH_POLICIES_DIR: join(out(f), 'policies'),
        CDKTF_OUTDIR: join(out(f), 'cdktf.out'),
      },
    });
  }
}, 120_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const synthesized = (f: Framework, component: string): string =>
  readFileSync(join(out(f), 'components', component, 'main.tf.json'), 'utf8');
const schema = (f: Framework, component: string): string =>
  readFileSync(join(out(f), 'schemas', `${component}.json`), 'utf8');
const bundleInputs = (f: Framework): string[] =>
  JSON.parse(readFileSync(join(REPO_ROOT, '.tools', 'synth', `app-${f}.cjs.inputs.json`), 'utf8')) as string[];

describe('the two bundles', () => {
  it('link CDK Terrain only into the cdktn bundle and CDKTF only into the cdktf bundle', () => {
    const cdktn = bundleInputs('cdktn');
    const cdktf = bundleInputs('cdktf');
    const fromCdktf = (p: string) => /^node_modules\/(cdktf|@cdktf\/provider-aws|constructs)\//.test(p);
    const fromCdktn = (p: string) => /^tools\/cdktn\/node_modules\/(cdktn|@cdktn\/provider-aws|constructs)\//.test(p);
    expect(cdktn.filter(fromCdktf)).toEqual([]);
    expect(cdktf.filter(fromCdktn)).toEqual([]);
    for (const pkg of ['cdktn', '@cdktn/provider-aws', 'constructs']) {
      expect(
        cdktn.some((p) => p.startsWith(`tools/cdktn/node_modules/${pkg}/`)),
        pkg,
      ).toBe(true);
    }
    for (const pkg of ['cdktf', '@cdktf/provider-aws', 'constructs']) {
      expect(
        cdktf.some((p) => p.startsWith(`node_modules/${pkg}/`)),
        pkg,
      ).toBe(true);
    }
    // The same library sources in both.
    const own = (inputs: string[]) =>
      inputs.filter((p) => !p.includes('node_modules/')).filter((p) => p !== 'tools/cdktn/app.ts');
    expect(own(cdktn)).toEqual(own(cdktf));
    expect(own(cdktn).length).toBeGreaterThan(componentNames.length);
  });

  it('refuses an unknown --framework, naming the allowed values', () => {
    const r = spawnSync(process.execPath, [SYNTH, '--framework', 'cdk'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('--framework: "cdk" is not one of cdktn, cdktf');
  });
});

describe.each(componentNames)('%s', (component) => {
  it('is the same JSON under both frameworks except //.metadata.version', () => {
    const a = JSON.parse(synthesized('cdktf', component));
    const b = JSON.parse(synthesized('cdktn', component));
    expect(differences(a, b)).toEqual([['//', 'metadata', 'version']]);
    expect(get(a, ['//', 'metadata', 'version'])).toBe(VERSIONS.cdktf);
    expect(get(b, ['//', 'metadata', 'version'])).toBe(VERSIONS.cdktn);
    // The provider requirement is the project's, under both (see pipeline-stack.ts).
    for (const tf of [a, b])
      expect(tf.terraform.required_providers).toEqual({ aws: { source: 'hashicorp/aws', version: '~> 6.25' } });
  });

  it('has the same JSON Schema under both frameworks, the committed one', () => {
    const committed = readFileSync(join(REPO_ROOT, 'stacks', 'schemas', 'jsonschema', `${component}.json`), 'utf8');
    expect(schema('cdktf', component)).toBe(committed);
    expect(schema('cdktn', component)).toBe(committed);
  });

  it('has the same OPA policy under both frameworks, the committed one', () => {
    const policy = (f: Framework) => readFileSync(join(out(f), 'policies', `${component}.variables.rego`), 'utf8');
    const committed = readFileSync(join(REPO_ROOT, 'stacks', 'schemas', 'opa', `${component}.variables.rego`), 'utf8');
    expect(policy('cdktf')).toBe(committed);
    expect(policy('cdktn')).toBe(committed);
  });

  it('synthesizes through tools/cdktn/app.ts under CDKTF exactly what npm run synth wrote', () => {
    expect(synthesized('cdktf', component)).toBe(
      readFileSync(join(REPO_ROOT, 'components', component, 'main.tf.json'), 'utf8'),
    );
  });
});

describe('the provider bindings themselves', () => {
  /** required_providers of a bare stack with only the AWS provider, under one framework. */
  function bareRequiredProviders(dir: string, core: string, providerPackage: string): unknown {
    const req = createRequire(join(dir, 'package.json'));
    // Loaded by name from each framework's own node_modules: typed as what both expose.
    const { App, TerraformStack, Testing } = req(core) as typeof import('cdktf');
    const { AwsProvider } = req(`${providerPackage}/lib/provider`) as typeof import('@cdktf/provider-aws/lib/provider');
    const app = new App({ outdir: join(scratch, `bare-${core}`), skipValidation: true });
    const stack = new TerraformStack(app, 'bare');
    new AwsProvider(stack, 'aws', { region: 'us-east-1' });
    return (JSON.parse(Testing.synth(stack)) as { terraform: { required_providers: unknown } }).terraform
      .required_providers;
  }

  it('name different provider sources and versions, which the project overrides with its own pin', () => {
    // Without pipeline-stack.ts's override the two frameworks would differ here, and only here.
    expect(bareRequiredProviders(REPO_ROOT, 'cdktf', '@cdktf/provider-aws')).toEqual({
      aws: { source: 'aws', version: '6.25.0' },
    });
    expect(bareRequiredProviders(CDKTN_DIR, 'cdktn', '@cdktn/provider-aws')).toEqual({
      aws: { source: 'hashicorp/aws', version: '6.66.0' },
    });
  });
});

describe('types', () => {
  it('the library typechecks against cdktn and @cdktn/provider-aws (tsc -p tools/cdktn)', () => {
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', CDKTN_DIR], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const files = spawnSync(process.execPath, [tsc, '-p', CDKTN_DIR, '--listFilesOnly'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const listed = files.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    expect(listed.filter((p) => /\/node_modules\/(cdktf|@cdktf)\//.test(p))).toEqual([]);
    expect(listed.some((p) => p.includes('/tools/cdktn/node_modules/@cdktn/provider-aws/lib/'))).toBe(true);
  });
});
