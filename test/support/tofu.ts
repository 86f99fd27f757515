/**
 * Running the real OpenTofu CLI (built by scripts/build-tofu.sh) on *provider-free* copies of a
 * synthesized component, so the Terraform evaluator itself checks our `validation` blocks and
 * var-only `precondition`s against a stack's varfile — no AWS provider, no network, no state.
 *
 * - {@link variablesOnlyConfig}: the component's `variable` blocks and nothing else. `tofu plan`
 *   on it fails exactly where a wrong stack value fails a variable's type or `validation` rule,
 *   and otherwise reports no changes.
 * - {@link preconditionsConfig}: the variables *without* their validation blocks, the locals that
 *   only use variables/locals, and every resource `precondition` that only uses variables/locals,
 *   carried by a built-in `terraform_data` resource with the same `count`. `tofu plan` on it fails
 *   exactly where the real plan would fail a precondition (a cross-variable rule).
 *
 * Offline by construction: an empty CLI config file (no inherited mirrors, credentials or
 * `~/.terraformrc`), `tofu init -plugin-dir=<empty dir>` (automatic provider installation off),
 * CHECKPOINT_DISABLE=1, and no inherited TF_* variables (TF_VAR_x would change the result).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QUIET_TOFU_ENV } from '../../scripts/lib/atmos';
import { atmos } from './atmos';
import { REPO_ROOT } from './paths';
import type { TerraformJson, TerraformVariableJson } from './synth';

export const TOFU_BIN = join(REPO_ROOT, '.tools', 'bin', 'tofu');

export interface TofuDiagnostic {
  readonly severity: 'error' | 'warning';
  readonly summary: string;
  /** The detail without OpenTofu's "This was checked by the validation rule at …" trailer. */
  readonly detail: string;
}

export interface TofuPlanResult {
  readonly status: number;
  readonly errors: TofuDiagnostic[];
  readonly warnings: TofuDiagnostic[];
  /** From the plan's change_summary; undefined when planning failed before it. */
  readonly changes?: { add: number; change: number; remove: number };
  /** The whole `-json` stream plus stderr, for failure messages. */
  readonly output: string;
}

/** One line for a table or a failure message: "summary: first sentence of detail". */
export function diagnosticText(d: TofuDiagnostic): string {
  return `${d.summary}: ${d.detail.replace(/\s+/g, ' ').trim()}`;
}

/** Environment for an offline tofu run: no inherited TF_* settings, an empty CLI config file. */
export function offlineEnv(cliConfigFile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TF_')) env[key] = value;
  return { ...env, TF_CLI_CONFIG_FILE: cliConfigFile, ...QUIET_TOFU_ENV };
}

export function run(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv) {
  if (!existsSync(TOFU_BIN)) throw new Error(`tofu not found at ${TOFU_BIN}: run scripts/bootstrap.sh first`);
  const r = spawnSync(TOFU_BIN, [...args], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

function parsePlanJson(stdout: string): Pick<TofuPlanResult, 'errors' | 'warnings' | 'changes'> {
  const errors: TofuDiagnostic[] = [];
  const warnings: TofuDiagnostic[] = [];
  let changes: TofuPlanResult['changes'];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line) as {
      type: string;
      diagnostic?: { severity: 'error' | 'warning'; summary: string; detail?: string };
      changes?: { add: number; change: number; remove: number };
    };
    if (msg.type === 'change_summary' && msg.changes) {
      changes = { add: msg.changes.add, change: msg.changes.change, remove: msg.changes.remove };
    }
    if (msg.type === 'diagnostic' && msg.diagnostic) {
      const d = {
        severity: msg.diagnostic.severity,
        summary: msg.diagnostic.summary,
        detail: (msg.diagnostic.detail ?? '')
          .replace(/\n\nThis was checked by the validation rule at [^\n]*$/, '')
          .trim(),
      };
      (d.severity === 'error' ? errors : warnings).push(d);
    }
  }
  return { errors, warnings, changes };
}

export interface TofuWorkspace {
  readonly dir: string;
  /** `tofu plan` with one varfile (absolute path); may be called many times. */
  plan(varFile: string): TofuPlanResult;
  /** Plans with the varfile and returns the planned output values (name → value). */
  outputs(varFile: string): Record<string, unknown>;
  dispose(): void;
}

/**
 * A temp folder holding `config` as main.tf.json, initialised offline (`tofu init -backend=false`).
 * Plans run without state, lock or refresh, so they can be repeated with different varfiles.
 */
export function tofuWorkspace(config: object): TofuWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'tofu-ws-'));
  const root = join(dir, 'root');
  const emptyPlugins = join(dir, 'no-plugins');
  const cliConfig = join(dir, 'empty.tofurc');
  mkdirSync(root);
  mkdirSync(emptyPlugins);
  writeFileSync(cliConfig, '');
  writeFileSync(join(root, 'main.tf.json'), `${JSON.stringify(config, null, 2)}\n`);
  const env = offlineEnv(cliConfig);
  const init = run(
    ['init', '-backend=false', '-input=false', '-no-color', '-get=false', `-plugin-dir=${emptyPlugins}`],
    root,
    env,
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`tofu init failed (${init.status}):\n${init.stdout}\n${init.stderr}`);
  }
  return {
    dir: root,
    plan(varFile) {
      const r = run(
        ['plan', '-json', '-input=false', '-lock=false', '-refresh=false', '-no-color', `-var-file=${varFile}`],
        root,
        env,
      );
      return { status: r.status, ...parsePlanJson(r.stdout), output: `${r.stdout}\n${r.stderr}` };
    },
    outputs(varFile) {
      const planFile = join(dir, 'outputs.tfplan');
      const plan = run(
        [
          'plan',
          '-input=false',
          '-lock=false',
          '-refresh=false',
          '-no-color',
          `-var-file=${varFile}`,
          `-out=${planFile}`,
        ],
        root,
        env,
      );
      if (plan.status !== 0) throw new Error(`tofu plan failed (${plan.status}):\n${plan.stdout}\n${plan.stderr}`);
      const show = run(['show', '-json', '-no-color', planFile], root, env);
      if (show.status !== 0) throw new Error(`tofu show failed (${show.status}):\n${show.stderr}`);
      const planned = JSON.parse(show.stdout) as { planned_values?: { outputs?: Record<string, { value: unknown }> } };
      return Object.fromEntries(Object.entries(planned.planned_values?.outputs ?? {}).map(([k, v]) => [k, v.value]));
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The component's `variable` blocks, as synthesized, and nothing else: needs no provider. */
export function variablesOnlyConfig(tf: TerraformJson): object {
  return { variable: tf.variable };
}

/** Roots of the references in an expression: `var`, `local`, `aws_s3_bucket`, `self`, … */
function referenceRoots(expression: unknown): Set<string> {
  const text = JSON.stringify(expression);
  const roots = new Set<string>();
  // Conservative: any `word.word` counts, also inside string literals ("amazonaws.com"), so an
  // expression is only treated as var-only when it really is (`count.index`, `self.x` are not).
  for (const m of text.matchAll(/(?<![\w.])([A-Za-z_][\w-]*)\.[A-Za-z_*\d]/g)) roots.add(m[1]!);
  return roots;
}

function localRefs(expression: unknown): string[] {
  return [...JSON.stringify(expression).matchAll(/(?<![\w.])local\.([A-Za-z_][\w-]*)/g)].map((m) => m[1]!);
}

export interface PreconditionsConfig {
  readonly config: object;
  /** `type.name` of each resource whose preconditions are carried over. */
  readonly included: string[];
  /** `type.name` of each resource whose preconditions need more than variables (not evaluated). */
  readonly skipped: string[];
}

/**
 * Variables (types and defaults, validation blocks removed), var-only locals, and each var-only
 * resource precondition on a `terraform_data` stand-in with the resource's `count`/`for_each`.
 */
export function preconditionsConfig(tf: TerraformJson): PreconditionsConfig {
  const variable: Record<string, TerraformVariableJson> = {};
  for (const [name, v] of Object.entries(tf.variable)) {
    const { validation: _dropped, ...rest } = v;
    variable[name] = rest;
  }
  // Locals that only reference variables and other such locals (a fixpoint over the locals).
  const allLocals = (tf.locals ?? {}) as Record<string, unknown>;
  const usable = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, value] of Object.entries(allLocals)) {
      if (usable.has(name)) continue;
      const roots = referenceRoots(value);
      const onlyVarsAndLocals = [...roots].every((r) => r === 'var' || r === 'local');
      if (onlyVarsAndLocals && localRefs(value).every((l) => usable.has(l))) {
        usable.add(name);
        grew = true;
      }
    }
  }
  const evaluable = (expression: unknown) =>
    [...referenceRoots(expression)].every((r) => r === 'var' || r === 'local') &&
    localRefs(expression).every((l) => usable.has(l));

  const standIns: Record<string, object> = {};
  const included: string[] = [];
  const skipped: string[] = [];
  for (const [type, resources] of Object.entries(tf.resource ?? {})) {
    for (const [name, resource] of Object.entries(resources)) {
      const lifecycle = resource.lifecycle as { precondition?: unknown[] } | undefined;
      if (!lifecycle?.precondition?.length) continue;
      const repetition = {
        ...(resource.count !== undefined ? { count: resource.count } : {}),
        ...(resource.for_each !== undefined ? { for_each: resource.for_each } : {}),
      };
      if (!evaluable(lifecycle.precondition) || !evaluable(repetition)) {
        skipped.push(`${type}.${name}`);
        continue;
      }
      standIns[`${type}__${name}`] = { ...repetition, lifecycle: { precondition: lifecycle.precondition } };
      included.push(`${type}.${name}`);
    }
  }
  const locals = Object.fromEntries(Object.entries(allLocals).filter(([name]) => usable.has(name)));
  return {
    config: {
      variable,
      ...(Object.keys(locals).length > 0 ? { locals } : {}),
      ...(included.length > 0 ? { resource: { terraform_data: standIns } } : {}),
    },
    included,
    skipped,
  };
}

/**
 * `atmos terraform generate varfile <component> -s <stack> -f <file>`, from `cwd` (default the
 * repo root). Throws with Atmos' output when it fails.
 */
export async function generateVarfile(component: string, stack: string, file: string, cwd?: string): Promise<void> {
  const r = await atmos(['terraform', 'generate', 'varfile', component, '-s', stack, '-f', file], cwd ? { cwd } : {});
  if (r.status !== 0 || !existsSync(file)) {
    throw new Error(
      `atmos terraform generate varfile ${component} -s ${stack} failed (${r.status}):\n${r.stderr}\n${r.stdout}`,
    );
  }
}
