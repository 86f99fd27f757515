/**
 * plan-summary: one plan review per stack. Run by `atmos plan-summary -s <stack>` (atmos.yaml
 * `commands:`); extra flags go after "--".
 *
 * Plans every component of the stack with `atmos terraform plan <c> -s <stack> -out=<file>` in
 * dependency order (settings.depends_on as `atmos describe stacks` reports it; parallel where it
 * allows, at most --jobs at once), reads each saved plan with `tofu show -json`, and prints one
 * Markdown table: add / change / destroy / replace per component and a flag for every destroy or
 * replacement of a stateful store (with the attributes that force a replacement) and every
 * delete that deletion protection refuses (scripts/plan-summary/analyze.ts). Progress goes to
 * stderr, the table to stdout and to --report (default .tools/reports/plan-summary-<stack>.md);
 * the plans and their JSON stay in .tools/plans/<stack>/ (<component>.tfplan, <component>.json)
 * and a machine-readable result in the report path with .json.
 *
 * Exit code: 0 nothing flagged, 2 something flagged, 3 a plan failed (the summary is
 * incomplete), 1 bad usage, a missing tool or a crash of this script.
 *
 * Options:
 *   --stack, -s <stack>          required
 *   --components a,b             plan only these (default: every component of the stack)
 *   --var-file <component>=<f>   an extra var file for that component, after Atmos' own (repeatable)
 *   --destroy                    plan `-destroy` instead (dependents first)
 *   --jobs <n>                   plans at once (default 2, the cores of the build machine)
 *   --report <file>              where the Markdown goes (default .tools/reports/plan-summary-<stack>.md)
 * Environment: ATMOS_BIN (default .tools/bin/atmos, else atmos on PATH), TOFU_BIN (default
 * .tools/bin/tofu, else tofu on PATH).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { atmosEnv, describeStacksArgs, QUIET_TOFU_ENV } from './lib/atmos';
import { summarize, type PlanJson } from './plan-summary/analyze';
import { EXIT, exitCode, markdown, type ComponentResult } from './plan-summary/report';
import { dependencyGraph, restrict, reversed, runInOrder, topologicalOrder } from './plan-summary/schedule';

const ROOT = resolve(__dirname, '..');

class UsageError extends Error {}

const log = (msg: string) => process.stderr.write(`[plan-summary] ${msg}\n`);

/** A project tool: the pinned build in .tools/bin, an override, or the one on PATH. */
function tool(name: 'atmos' | 'tofu', override: string | undefined): string {
  const candidates = [override, join(ROOT, '.tools', 'bin', name), name].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['version'], { encoding: 'utf8', env: toolEnv() });
    if (r.status === 0) return c;
  }
  throw new UsageError(
    `${name} not found (tried ${candidates.join(', ')}): run scripts/bootstrap.sh, or set ${name.toUpperCase()}_BIN`,
  );
}

function toolEnv(): NodeJS.ProcessEnv {
  return atmosEnv(QUIET_TOFU_ENV);
}

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

function exec(cmd: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, [...args], { cwd, env: toolEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', fail);
    child.on('close', (code, signal) =>
      done({
        status: code ?? (signal ? 128 : -1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
  });
}

/**
 * OpenTofu's error diagnostics, one line each (for the table): the summary and the detail
 * paragraph (the last paragraph of the box, after the source context); else Atmos' last lines.
 */
export function errorText(output: string): string {
  const lines = output.split('\n');
  const errors: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^[│╷\s]*Error:\s*(.*)$/.exec(lines[i]!);
    if (!m) continue;
    const block: string[] = [];
    for (
      let j = i + 1;
      j < lines.length &&
      !/^\s*╵/.test(lines[j]!) &&
      !/^[│\s]*Error:/.test(lines[j]!) &&
      !/^\s*# Error/.test(lines[j]!);
      j++
    ) {
      block.push(lines[j]!.replace(/^│ ?/, ''));
    }
    const paragraphs = block
      .join('\n')
      .split(/\n\s*\n/)
      .map((p) => p.trim())
      .filter(Boolean);
    const detail = paragraphs.filter((p) => !/^(on |with |\d+:|This was checked by)/.test(p)).pop();
    errors.push([m[1], detail?.replace(/\s+/g, ' ')].filter(Boolean).join(': '));
  }
  // Atmos' own errors: "# Error", a blank line, the message.
  const atmosError = /^\s*# Error\s*\n\s*\n([\s\S]*?)(?:\n\s*\n|$)/m.exec(output)?.[1];
  const text =
    [...new Set(errors)].slice(0, 2).join(' / ') ||
    (atmosError ?? output.trim().split('\n').slice(-3).join(' ')).replace(/\s+/g, ' ').trim();
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

interface StackComponent {
  readonly component?: string;
  readonly metadata?: { type?: string; component?: string; enabled?: boolean };
  readonly settings?: { depends_on?: Record<string, { component?: string; stack?: string }> };
}

function describeStacks(
  atmos: string,
): Record<string, { components?: { terraform?: Record<string, StackComponent> } }> {
  const r = spawnSync(atmos, describeStacksArgs({ sections: ['settings', 'component', 'metadata'] }), {
    cwd: ROOT,
    encoding: 'utf8',
    env: toolEnv(),
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new UsageError(`atmos describe stacks failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof describeStacks>;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      stack: { type: 'string', short: 's' },
      components: { type: 'string' },
      'var-file': { type: 'string', multiple: true },
      destroy: { type: 'boolean', default: false },
      jobs: { type: 'string', default: '2' },
      report: { type: 'string' },
    },
    allowPositionals: false,
    strict: true,
  });
  const stack = values.stack;
  if (!stack) throw new UsageError('--stack (-s) is required, e.g. atmos plan-summary -s dev');
  const jobs = Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 16)
    throw new UsageError(`--jobs must be an integer 1-16, got "${values.jobs}"`);

  const atmos = tool('atmos', process.env.ATMOS_BIN);
  const tofu = tool('tofu', process.env.TOFU_BIN);

  const stacks = describeStacks(atmos);
  const all = stacks[stack]?.components?.terraform;
  if (!all)
    throw new UsageError(
      `unknown stack "${stack}": the stacks are ${Object.keys(stacks).sort().join(', ') || '(none)'}`,
    );
  const deployable = Object.fromEntries(
    Object.entries(all).filter(([, c]) => c.metadata?.type !== 'abstract' && c.metadata?.enabled !== false),
  );

  let graph = dependencyGraph(stack, Object.fromEntries(Object.entries(deployable).map(([c, v]) => [c, v.settings])));
  if (values.components !== undefined) {
    const wanted = values.components
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    const unknown = wanted.filter((c) => !graph.has(c));
    if (wanted.length === 0 || unknown.length > 0) {
      throw new UsageError(
        `--components: unknown component(s) ${unknown.join(', ') || '(none given)'}; stack ${stack} has: ${[...graph.keys()].join(', ')}`,
      );
    }
    graph = restrict(graph, new Set(wanted));
  }
  if (values.destroy) graph = reversed(graph);

  const varFiles = new Map<string, string[]>();
  for (const spec of values['var-file'] ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(spec);
    if (!m || !graph.has(m[1]!))
      throw new UsageError(
        `--var-file must be <component>=<file> with a component of the run (${[...graph.keys()].join(', ')}), got "${spec}"`,
      );
    const file = resolve(m[2]!);
    if (!existsSync(file)) throw new UsageError(`--var-file ${m[1]}: ${file} does not exist`);
    varFiles.set(m[1]!, [...(varFiles.get(m[1]!) ?? []), file]);
  }

  const planDir = join(ROOT, '.tools', 'plans', stack);
  mkdirSync(planDir, { recursive: true });
  const reportFile = resolve(values.report ?? join(ROOT, '.tools', 'reports', `plan-summary-${stack}.md`));

  const started = Date.now();
  log(`stack ${stack}: ${graph.size} component(s), ${jobs} at once${values.destroy ? ', destroy plans' : ''}`);
  const results = await runInOrder(graph, jobs, async (c): Promise<ComponentResult> => {
    const t0 = Date.now();
    const seconds = () => Math.round((Date.now() - t0) / 100) / 10;
    const planFile = join(planDir, `${c}.tfplan`);
    const jsonFile = join(planDir, `${c}.json`);
    rmSync(planFile, { force: true });
    rmSync(jsonFile, { force: true });
    log(`${c}: planning`);
    const args = ['terraform', 'plan', c, '-s', stack, '-no-color', '-input=false', `-out=${planFile}`];
    for (const f of varFiles.get(c) ?? []) args.push(`-var-file=${f}`);
    // After "--": Atmos 1.190 reads a bare -destroy as its own short flags (-s "troy").
    if (values.destroy) args.push('--', '-destroy');
    const plan = await exec(atmos, args, ROOT);
    if (plan.status !== 0 || !existsSync(planFile)) {
      const error = errorText(`${plan.stdout}\n${plan.stderr}`);
      log(`${c}: plan FAILED after ${seconds()} s: ${error}`);
      return { component: c, seconds: seconds(), error };
    }
    const folder = deployable[c]?.component ?? deployable[c]?.metadata?.component ?? c;
    const show = await exec(tofu, ['show', '-json', planFile], join(ROOT, 'components', folder));
    if (show.status !== 0) {
      const error = `tofu show -json: ${errorText(show.stderr)}`;
      log(`${c}: ${error}`);
      return { component: c, seconds: seconds(), error };
    }
    writeFileSync(jsonFile, show.stdout);
    const summary = summarize(JSON.parse(show.stdout) as PlanJson);
    const k = summary.counts;
    log(
      `${c}: planned in ${seconds()} s: +${k.add} ~${k.change} -${k.destroy} ±${k.replace}${summary.flags.length > 0 ? `, ${summary.flags.length} flag(s)` : ''}`,
    );
    return { component: c, seconds: seconds(), summary };
  });

  // Rows in run order: the deploy order (the destroy order for --destroy).
  const ordered = topologicalOrder(graph).map((c) => results.get(c)!);
  const wallSeconds = (Date.now() - started) / 1000;
  const md = markdown(stack, ordered, { destroy: values.destroy, wallSeconds });
  mkdirSync(dirname(reportFile), { recursive: true });
  writeFileSync(reportFile, md);
  const code = exitCode(ordered);
  writeFileSync(
    `${reportFile.replace(/\.md$/, '')}.json`,
    `${JSON.stringify({ stack, destroy: values.destroy, exitCode: code, wallSeconds, planDir: relative(ROOT, planDir), results: ordered }, null, 2)}\n`,
  );
  process.stdout.write(md);
  log(
    `wrote ${isAbsolute(reportFile) ? relative(ROOT, reportFile) || reportFile : reportFile}; ${wallSeconds.toFixed(1)} s wall; exit ${code}`,
  );
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
        log(`error: ${(err as Error).message}`);
        process.exit(EXIT.usage);
      }
      log(`error: ${(err as Error).stack ?? String(err)}`);
      process.exit(EXIT.usage);
    },
  );
}
