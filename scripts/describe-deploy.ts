/**
 * Prints what each deploy stack would deploy, from the synthesized components and the vars
 * Atmos resolves for each stack: resources per component (with for_each/count resolved where
 * they follow a variable) and the stack-specific settings. Part of the main job (scripts/main.sh).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPONENTS } from '../components/registry';
import { findRepoRoot } from '../components/synth';
import { atmosEnv, describeStacksArgs } from './lib/atmos';

const root = findRepoRoot(__dirname);
type Vars = Record<string, unknown>;
type Described = Record<string, { components: { terraform: Record<string, { vars: Vars }> } }>;

const r = spawnSync(join(root, '.tools', 'bin', 'atmos'), describeStacksArgs({ sections: ['vars'] }), {
  cwd: root,
  encoding: 'utf8',
  env: atmosEnv(),
  maxBuffer: 64 * 1024 * 1024,
});
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  process.exit(r.status ?? 1);
}
const stacks = JSON.parse(r.stdout) as Described;

/** How many instances a resource block makes for these vars, where that follows from a variable. */
function instances(
  block: Record<string, unknown>,
  vars: Vars,
  defaults: Record<string, { default?: unknown }>,
): string {
  const value = (name: string) => (name in vars ? vars[name] : defaults[name]?.default);
  const forEach = block.for_each;
  if (typeof forEach === 'string') {
    const m = forEach.match(/^\$\{toset\(var\.(\w+)\)\}$/);
    if (m) return String((value(m[1]!) as unknown[] | undefined)?.length ?? 0);
    return 'for_each';
  }
  const count = block.count;
  if (typeof count === 'string') {
    const m = count.match(/^\$\{var\.(\w+) \? 1 : 0\}$/);
    if (m) return value(m[1]!) ? '1' : '0';
    return 'count';
  }
  return '1';
}

for (const [stack, { components }] of Object.entries(stacks)) {
  process.stdout.write(`\n== stack ${stack} ==\n`);
  for (const component of Object.keys(COMPONENTS)) {
    const vars = components.terraform[component]?.vars;
    if (!vars) continue;
    const tf = JSON.parse(readFileSync(join(root, 'components', component, 'main.tf.json'), 'utf8')) as {
      resource?: Record<string, Record<string, Record<string, unknown>>>;
      variable: Record<string, { default?: unknown }>;
    };
    const label = [vars.namespace, vars.environment, vars.stage, vars.name].join('-');
    process.stdout.write(`  ${component} (${label})\n`);
    for (const [type, blocks] of Object.entries(tf.resource ?? {})) {
      for (const [name, block] of Object.entries(blocks)) {
        const n = instances(block, vars, tf.variable);
        if (n !== '0') process.stdout.write(`    ${n.padStart(8)} × ${type}.${name}\n`);
      }
    }
    const settings = Object.entries(vars)
      .filter(
        ([k, v]) =>
          !['namespace', 'environment', 'stage', 'name', 'region', 'tags'].includes(k) && tf.variable[k]?.default !== v,
      )
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    if (settings.length > 0) process.stdout.write(`    settings: ${settings.join(' ')}\n`);
  }
}
