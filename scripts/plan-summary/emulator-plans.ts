/**
 * Real plans of any deploy stack's values against the local emulators, for the security gate on
 * what would really be applied (test-apply/checkov-plans.test.ts).
 *
 * A deploy stack's own backend (S3) and account are not reachable here, so each component is
 * planned by OpenTofu in a scratch copy: the synthesized main.tf.json (+ its dist/ artifacts),
 * the stack's vars exactly as Atmos resolves them (`atmos terraform generate varfile <c> -s <stack>`),
 * no backend block (local state in the copy), and the `local` stack's provider settings and
 * environment (its `providers:` and `env:` sections, which point the AWS provider at the
 * emulators: stacks/mixins/stage/local.yaml). So only the endpoints and credentials come from
 * `local`; every variable, `count` branch and `for_each` key comes from the stack planned.
 *
 * The EFO readers (lambda-enrichment, kinesis-analytics) read their consumer with a data source
 * at plan time, so the stack's kinesis-ingest plan is applied first (the consumers then exist in
 * kinesis-mock under that stack's stream name); its plan JSON is the one taken before the apply.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeStacksArgs, QUIET_TOFU_ENV } from '../lib/atmos';
import { dependencyGraph, runInOrder } from './schedule';

const ROOT = join(__dirname, '..', '..');

interface Described {
  readonly component: string;
  readonly env?: Record<string, string>;
  readonly providers?: Record<string, unknown>;
  readonly settings?: { depends_on?: Record<string, { component?: string }> };
}

function describe(atmos: string, env: NodeJS.ProcessEnv, stack: string): Record<string, Described> {
  const r = spawnSync(atmos, describeStacksArgs({ stack, sections: ['component', 'env', 'providers', 'settings'] }), {
    cwd: ROOT,
    encoding: 'utf8',
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`atmos describe stacks -s ${stack} failed:\n${r.stderr}`);
  const all = JSON.parse(r.stdout) as Record<string, { components?: { terraform?: Record<string, Described> } }>;
  const components = all[stack]?.components?.terraform;
  if (!components) throw new Error(`unknown stack "${stack}": the stacks are ${Object.keys(all).join(', ')}`);
  return components;
}

function exec(
  cmd: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, [...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ status: code ?? -1, output }));
  });
}

export interface EmulatorPlan {
  readonly stack: string;
  readonly component: string;
  /** `tofu show -json` of the saved plan, written to <outDir>/<stack>-<component>.json. */
  readonly planJsonFile?: string;
  readonly error?: string;
}

/**
 * Plans every component of `stack` with its own values against the emulators named by `env`
 * (LOCAL_*_ENDPOINT_URL, read by the local stack's env: section), in `workDir`.
 */
export async function planStackAgainstEmulators(opts: {
  stack: string;
  env: NodeJS.ProcessEnv;
  workDir: string;
  outDir: string;
  jobs?: number;
}): Promise<EmulatorPlan[]> {
  const atmos = join(ROOT, '.tools', 'bin', 'atmos');
  const tofu = join(ROOT, '.tools', 'bin', 'tofu');
  const local = describe(atmos, opts.env, 'local');
  const target = opts.stack === 'local' ? local : describe(atmos, opts.env, opts.stack);
  mkdirSync(opts.outDir, { recursive: true });
  const graph = dependencyGraph(
    opts.stack,
    Object.fromEntries(Object.entries(target).map(([c, d]) => [c, d.settings])),
  );
  // kinesis-ingest first (applied: the EFO readers' data sources need its consumers), then the rest.
  const ingest = 'kinesis-ingest';
  const rest = new Map(
    [...graph].filter(([c]) => c !== ingest).map(([c, deps]) => [c, deps.filter((d) => d !== ingest)]),
  );

  const planOne = async (c: string): Promise<EmulatorPlan> => {
    const d = target[c]!;
    const dir = join(opts.workDir, opts.stack, c);
    mkdirSync(dir, { recursive: true });
    const src = join(ROOT, 'components', d.component);
    cpSync(join(src, 'main.tf.json'), join(dir, 'main.tf.json'));
    if (existsSync(join(src, 'dist'))) cpSync(join(src, 'dist'), join(dir, 'dist'), { recursive: true });
    writeFileSync(
      join(dir, 'providers_override.tf.json'),
      JSON.stringify({ provider: local[c]?.providers ?? {} }, null, 2),
    );
    // The varfile `atmos terraform plan` would pass (YAML functions such as !template evaluated,
    // which `describe stacks` leaves as text).
    const vf = await exec(
      atmos,
      ['terraform', 'generate', 'varfile', c, '-s', opts.stack, '-f', join(dir, 'stack.tfvars.json')],
      ROOT,
      opts.env,
    );
    if (vf.status !== 0)
      return { stack: opts.stack, component: c, error: `atmos terraform generate varfile: ${vf.output.slice(-1500)}` };
    const env = {
      ...opts.env,
      ...(local[c]?.env ?? {}),
      ...QUIET_TOFU_ENV,
    };
    const steps: string[][] = [
      ['init', '-input=false', '-no-color'],
      ['plan', '-input=false', '-no-color', '-var-file=stack.tfvars.json', '-out=plan.tfplan'],
    ];
    for (const args of steps) {
      const r = await exec(tofu, args, dir, env);
      if (r.status !== 0)
        return { stack: opts.stack, component: c, error: `tofu ${args[0]}: ${r.output.slice(-1500)}` };
    }
    const show = await exec(tofu, ['show', '-json', 'plan.tfplan'], dir, env);
    if (show.status !== 0) return { stack: opts.stack, component: c, error: `tofu show: ${show.output.slice(-1500)}` };
    const planJsonFile = join(opts.outDir, `${opts.stack}-${c}.json`);
    writeFileSync(planJsonFile, show.output);
    if (c === ingest) {
      const apply = await exec(tofu, ['apply', '-input=false', '-no-color', 'plan.tfplan'], dir, env);
      if (apply.status !== 0)
        return { stack: opts.stack, component: c, planJsonFile, error: `tofu apply: ${apply.output.slice(-1500)}` };
    }
    return { stack: opts.stack, component: c, planJsonFile };
  };

  const results: EmulatorPlan[] = [];
  if (graph.has(ingest)) results.push(await planOne(ingest));
  const others = await runInOrder(rest, opts.jobs ?? 2, planOne);
  results.push(...others.values());
  return results;
}
