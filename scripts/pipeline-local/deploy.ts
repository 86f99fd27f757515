/**
 * Deploys the `local` stack into the emulators with the deploy workflow's own steps
 * (stacks/workflows/deploy.yaml `deploy-all`), one step at a time so progress shows per step.
 *
 * GAPS is the one place that knows what the emulators cannot take. With it empty, the run is
 * exactly `atmos workflow deploy-all -f deploy -s local`; with entries, the same steps run in the
 * same order (read from the workflow file) with each gap applied (a step skipped, or
 * `-exclude=<address>` for one resource).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';

const REPO_ROOT = join(__dirname, '..', '..');

export interface Gap {
  /** skip: the step does not run; exclude: the listed resource addresses are left out. */
  readonly skip?: boolean;
  readonly exclude?: readonly string[];
  readonly why: string;
}

/**
 * What differs from the workflow against the emulators. The moto patches (tools/moto/) and the
 * provider's emulator waits (tools/aws-provider/, TF_AWS_EMULATOR_WAITS=1 from
 * test-apply/emulators.ts) closed every apply gap, so only the post-apply step remains: it would
 * talk to the domain's endpoint in moto, which is no OpenSearch. pipeline.ts runs the same
 * script against the local OpenSearch node instead. Add an entry here if an emulator gap opens.
 */
export const GAPS: Readonly<Record<string, Gap>> = {
  'opensearch-setup': {
    skip: true,
    why: "moto's domain endpoint serves no OpenSearch API; the same script runs against the local node (--endpoint <node> --no-sign --skip-security)",
  },
};

interface Step {
  name?: string;
  type?: string;
  command: string;
}

export function workflowSteps(): Step[] {
  // The workflow file is small and regular: read its deploy-all steps without a YAML dependency.
  const text = readFileSync(join(REPO_ROOT, 'stacks', 'workflows', 'deploy.yaml'), 'utf8');
  const body = text.split(/^ {2}deploy-all:\s*$/m)[1]!.split(/^ {2}[a-z-]+:\s*$/m)[0]!;
  const steps: Step[] = [];
  let cur: Partial<Step> | undefined;
  for (const line of body.split('\n')) {
    const m = /^\s{6}- (name|command|type): (.*)$/.exec(line) ?? /^\s{8}(name|command|type): (.*)$/.exec(line);
    if (!m) continue;
    if (line.trimStart().startsWith('- ')) {
      if (cur?.command) steps.push(cur as Step);
      cur = {};
    }
    (cur as Record<string, string>)[m[1]!] = m[2]!.trim();
  }
  if (cur?.command) steps.push(cur as Step);
  return steps;
}

export interface StepResult {
  step: string;
  seconds: number;
  note?: string;
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
): Promise<{ code: number; tail: string }> {
  return new Promise((resolve) => {
    const log = createWriteStream(logFile, { flags: 'a' });
    log.write(`\n$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (d: Buffer) => {
      log.write(d);
      tail = (tail + d.toString()).slice(-6000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('close', (code) => {
      log.end();
      resolve({ code: code ?? 1, tail });
    });
  });
}

/** Runs the deploy; throws with the failing step's output tail. */
export async function deployLocal(opts: {
  env: NodeJS.ProcessEnv;
  logFile: string;
  progress: (line: string) => void;
}): Promise<StepResult[]> {
  const atmos = opts.env.ATMOS_BIN ?? join(REPO_ROOT, '.tools', 'bin', 'atmos');
  const results: StepResult[] = [];
  if (Object.keys(GAPS).length === 0) {
    const t0 = Date.now();
    opts.progress('deploy: atmos workflow deploy-all -f deploy -s local');
    const r = await run(atmos, ['workflow', 'deploy-all', '-f', 'deploy', '-s', 'local'], opts.env, opts.logFile);
    if (r.code !== 0)
      throw new Error(`atmos workflow deploy-all failed (exit ${r.code}); log ${opts.logFile}:\n${r.tail}`);
    results.push({ step: 'deploy-all', seconds: (Date.now() - t0) / 1000 });
    return results;
  }
  const steps = workflowSteps();
  for (const [i, step] of steps.entries()) {
    const key = step.type === 'shell' ? (step.name ?? step.command) : (step.name ?? step.command);
    const gap = GAPS[step.command] ?? GAPS[key];
    const label = `[${i + 1}/${steps.length}] ${step.type === 'shell' ? step.command : `atmos ${step.command} -s local`}`;
    if (gap?.skip) {
      opts.progress(`deploy ${label}: skipped (${gap.why})`);
      results.push({ step: key, seconds: 0, note: `skipped: ${gap.why}` });
      continue;
    }
    const t0 = Date.now();
    opts.progress(`deploy ${label}${gap?.exclude ? ` (-exclude=${gap.exclude.join(',')}: ${gap.why})` : ''} …`);
    const r =
      step.type === 'shell'
        ? await run('sh', ['-c', step.command], opts.env, opts.logFile)
        : await run(
            atmos,
            [...step.command.split(/\s+/), '-s', 'local', ...(gap?.exclude ?? []).map((a) => `-exclude=${a}`)],
            opts.env,
            opts.logFile,
          );
    const seconds = (Date.now() - t0) / 1000;
    if (r.code !== 0)
      throw new Error(
        `deploy step ${label} failed (exit ${r.code}, ${seconds.toFixed(0)} s); log ${opts.logFile}:\n${r.tail}`,
      );
    opts.progress(`deploy ${label}: done in ${seconds.toFixed(1)} s`);
    results.push({ step: key, seconds, note: gap?.exclude ? `excluded ${gap.exclude.join(', ')}` : undefined });
  }
  return results;
}

/**
 * `atmos describe component <c> -s local` vars (templates evaluated; `describe stacks` leaves
 * them as text), for the components named, in parallel.
 */
export async function describeVars(
  components: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<Record<string, Record<string, unknown>>> {
  const atmos = env.ATMOS_BIN ?? join(REPO_ROOT, '.tools', 'bin', 'atmos');
  const one = (c: string) =>
    new Promise<[string, Record<string, unknown>]>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const child = spawn(atmos, ['describe', 'component', c, '-s', 'local', '--format', 'json'], {
        cwd: REPO_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('close', (code) => {
        if (code !== 0)
          reject(
            new Error(
              `atmos describe component ${c} -s local failed (exit ${code}): ${Buffer.concat(err).toString().slice(-2000)}`,
            ),
          );
        else resolve([c, (JSON.parse(Buffer.concat(out).toString()) as { vars: Record<string, unknown> }).vars]);
      });
    });
  return Object.fromEntries(await Promise.all(components.map(one)));
}
