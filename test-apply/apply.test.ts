/**
 * The apply tier: the real `atmos terraform plan/apply/destroy <component> -s local` against local
 * AWS emulators on 127.0.0.1 (moto, kinesis-mock, kumo: ./emulators.ts), OpenTofu and the AWS
 * provider from the offline mirror.
 *
 * Run it with `bash scripts/test-apply.sh` (part of `bash scripts/test.sh`): it synthesizes the
 * components and builds the Lambda zip and the Flink jar first; this file starts and stops the
 * emulators.
 *
 * Schedule: the components and their `settings.depends_on` come from `atmos describe stacks -s
 * local`. Each component is planned as soon as everything it depends on is applied (a reader's
 * consumer data source needs the consumer), then applied and re-planned ("No changes"); components
 * that do not depend on each other run in parallel (APPLY_TIER_JOBS at a time). Each is destroyed
 * as soon as it is up and everything depending on it is destroyed (reverse dependency order,
 * overlapping with the rest). Then the checks over every component folder (backend, re-synth
 * leaves .terraform/ and the state alone). What the emulators cannot do is listed explicitly below (exact errors
 * in test-apply/README.md); each entry is checked, so the test fails when a gap closes (update
 * the list) as well as when something that worked breaks. At the end a table of components ×
 * plan / apply / re-plan / destroy (seconds) goes to .tools/reports/apply-tier-summary.txt.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { atmosEnv, describeStacksArgs, QUIET_TOFU_ENV } from '../scripts/lib/atmos';
import { type Emulators, startEmulators } from './emulators';

const ROOT = resolve(__dirname, '..');
const ATMOS = join(ROOT, '.tools', 'bin', 'atmos');
const STACK = 'local';
const SUMMARY = join(ROOT, '.tools', 'reports', 'apply-tier-summary.txt');
/** How many atmos runs at once (2 cores: most of a run is the provider waiting on an emulator). */
const JOBS = Number(process.env.APPLY_TIER_JOBS ?? 5);

// ---------------------------------------------------------------------------------------------
// The components and their dependencies, from Atmos itself (not a hand-kept list).
// ---------------------------------------------------------------------------------------------

const ATMOS_ENV = atmosEnv(QUIET_TOFU_ENV);

function describeStack(): Map<string, string[]> {
  if (!existsSync(ATMOS)) throw new Error(`Atmos not found at ${ATMOS}: run scripts/bootstrap.sh`);
  const r = spawnSync(ATMOS, describeStacksArgs({ stack: STACK, sections: ['settings', 'metadata'] }), {
    cwd: ROOT,
    env: ATMOS_ENV,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`atmos describe stacks -s ${STACK} failed:\n${r.stderr}`);
  const components = JSON.parse(r.stdout)[STACK].components.terraform as Record<
    string,
    { settings?: { depends_on?: Record<string, { component: string }> }; metadata?: { type?: string } }
  >;
  const graph = new Map<string, string[]>();
  for (const [name, c] of Object.entries(components).sort(([a], [b]) => a.localeCompare(b))) {
    if (c.metadata?.type === 'abstract') continue;
    graph.set(
      name,
      Object.values(c.settings?.depends_on ?? {}).map((d) => d.component),
    );
  }
  return graph;
}

const DEPENDS_ON = describeStack();
/** Every component of the stack, in a dependency order (Kahn, ties by name). */
const COMPONENTS: string[] = (() => {
  const order: string[] = [];
  const left = new Map(DEPENDS_ON);
  while (left.size > 0) {
    const ready = [...left].filter(([, deps]) => deps.every((d) => order.includes(d))).map(([c]) => c);
    if (ready.length === 0) throw new Error(`settings.depends_on has a cycle among ${[...left.keys()].join(', ')}`);
    for (const c of ready) {
      order.push(c);
      left.delete(c);
    }
  }
  return order;
})();
type Component = string;

// ---------------------------------------------------------------------------------------------
// What the emulators cannot do (exact errors in test-apply/README.md).
// ---------------------------------------------------------------------------------------------

interface Gap {
  /** Where the gap is: its resources of `type` are left out (-exclude) of apply and re-plan. */
  readonly component: Component;
  readonly type: string;
  /** Why, in a sentence (for the summary). */
  readonly why: string;
  /** The pin: a targeted apply of this address must fail with this error (whitespace collapsed). */
  readonly address: string;
  readonly error: RegExp;
}

/**
 * None left: the three moto gaps of the first apply tier are closed by tools/moto/*.patch
 * (tools/moto/README.md): the enhanced fan-out consumer as an event source mapping's source (0001),
 * IAM condition evaluation with Bool and the absent-key rule, so the artifacts bucket's
 * DenyInsecureTransport no longer denies every upload (0002), Firehose's OpenSearch Service
 * destination (0003). A new gap goes here with its exact error (and into test-apply/README.md).
 */
const GAPS: readonly Gap[] = [];

/**
 * What the closed gaps and the former slow entry left out, which each apply must now put in the
 * state (so a regression in a patch fails here, not only in a later plan).
 */
const CLOSED_GAPS: Partial<Record<Component, string[]>> = {
  'lambda-enrichment': ['aws_lambda_event_source_mapping.event_source'],
  'kinesis-analytics': ['aws_s3_object.jar', 'aws_kinesisanalyticsv2_application.application'],
  'firehose-opensearch': ['aws_kinesis_firehose_delivery_stream.delivery'],
  opensearch: ['aws_opensearch_domain.domain', 'aws_opensearch_domain_policy.access_policy'],
};

/**
 * Components the tier plans but does not apply, for time. None: opensearch was here while the
 * provider slept a fixed 10 minutes before it first polled a new domain (and again on delete);
 * tools/aws-provider/0001-emulator-fixed-waits.patch shortens those sleeps when
 * TF_AWS_EMULATOR_WAITS=1 (./emulators.ts sets it), with the same checks. APPLY_TIER_SLOW=1
 * would apply an entry anyway.
 */
const SLOW: Partial<Record<Component, string>> = {};
const runSlow = process.env.APPLY_TIER_SLOW === '1';

/**
 * In-place updates the first re-plan after an apply shows because an emulator drops part of what
 * the provider sent. `converges`: a second apply clears it (kinesis-mock's RegisterStreamConsumer
 * ignores Tags; the provider then calls TagResource). Otherwise it stays (moto's Lambda does not
 * keep LoggingConfig), and the plan must show exactly these addresses and nothing else.
 */
const KNOWN_DRIFT: Partial<Record<Component, { addresses: string[]; converges: boolean }>> = {
  'kinesis-ingest': { addresses: ['aws_kinesis_stream_consumer.consumer'], converges: true },
  'lambda-enrichment': { addresses: ['aws_lambda_function.function'], converges: false },
  // moto's CreateBucket ignores the tags sent with it (the provider then calls PutBucketTagging);
  // the bucket policy, built from a policy document data source that reads the bucket, shows as
  // "known after apply" in the same plan and is rewritten unchanged.
  'firehose-s3': { addresses: ['aws_s3_bucket.archive', 'aws_s3_bucket_policy.archive_policy'], converges: true },
  // Their role policies name the bucket ARN through a policy document data source too. (The
  // application's run_configuration drift is closed: tools/moto/0004 describes RunConfiguration.)
  'kinesis-analytics': {
    addresses: ['aws_s3_bucket.artifacts', 'aws_s3_bucket_policy.artifacts_policy', 'aws_iam_role_policy.role_policy'],
    converges: true,
  },
  'firehose-opensearch': {
    addresses: ['aws_s3_bucket.backup', 'aws_s3_bucket_policy.backup_policy', 'aws_iam_role_policy.role_policy'],
    converges: true,
  },
};

// ---------------------------------------------------------------------------------------------

let emulators: Emulators | undefined;

interface Run {
  readonly args: readonly string[];
  readonly status: number;
  readonly output: string;
  readonly seconds: number;
}

/** A counting semaphore: at most JOBS atmos runs at once. */
let running = 0;
const waiting: Array<() => void> = [];
async function slot<T>(f: () => Promise<T>): Promise<T> {
  if (running >= JOBS) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/**
 * Runs atmos from the repo root (asynchronously: a blocked worker makes vitest's RPC time out
 * during the minutes an apply can take), with the emulators' endpoints in its environment.
 */
function atmos(args: readonly string[]): Promise<Run> {
  return slot(
    () =>
      new Promise<Run>((resolvePromise, reject) => {
        const started = Date.now();
        const child = spawn(ATMOS, [...args], {
          cwd: ROOT,
          env: { ...ATMOS_ENV, ...(emulators?.env ?? {}) },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGTERM'), 14 * 60_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          const output = `${stdout}\n${stderr}`;
          if (process.env.APPLY_TIER_VERBOSE) console.log(`$ atmos ${args.join(' ')}\n${output}`);
          resolvePromise({ args, status: code ?? -1, output, seconds: Math.round((Date.now() - started) / 100) / 10 });
        });
      }),
  );
}

/** The output with every run of whitespace collapsed to one space (OpenTofu wraps errors). */
const oneLine = (s: string) => s.replace(/\s+/g, ' ');

/** The last ~60 lines, for assertion messages. */
const tail = (s: string, n = 60) => s.split('\n').slice(-n).join('\n');

function resources(c: Component): Record<string, Record<string, unknown>> {
  const json = JSON.parse(readFileSync(join(ROOT, 'components', c, 'main.tf.json'), 'utf8'));
  return json.resource ?? {};
}

function excludes(c: Component): string[] {
  const res = resources(c);
  return GAPS.filter((g) => g.component === c).flatMap((g) =>
    Object.keys(res[g.type] ?? {}).map((n) => `-exclude=${g.type}.${n}`),
  );
}

/**
 * Managed-resource addresses (without instance keys) with a planned action, from the plan's text
 * output (data sources "read during apply" follow from those and are left out).
 */
function plannedChanges(output: string): Map<string, string> {
  const changes = new Map<string, string>();
  for (const m of output.matchAll(/^\s*# (\S+) (?:will be|must be) ([^\n]+)$/gm)) {
    if (m[1].startsWith('data.')) continue;
    changes.set(m[1].replace(/\[[^\]]*\]$/, ''), m[2].trim());
  }
  return changes;
}

function stateFile(c: Component): string {
  // Atmos selects the workspace named after the stack; the local backend keeps non-default
  // workspaces under workspace_dir/<workspace>/.
  return join(ROOT, '.state', 'local', c, STACK, 'terraform.tfstate');
}

function stateResources(c: Component): string[] {
  const file = stateFile(c);
  if (!existsSync(file)) return [];
  const state = JSON.parse(readFileSync(file, 'utf8'));
  return (state.resources ?? [])
    .filter((r: { mode: string }) => r.mode === 'managed')
    .map((r: { type: string; name: string }) => `${r.type}.${r.name}`);
}

/** path → size:mtime of every file under a folder (for "synth did not touch it"). */
function snapshot(dir: string, into = new Map<string, string>()): Map<string, string> {
  if (!existsSync(dir)) return into;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) snapshot(p, into);
    else {
      const st = statSync(p);
      into.set(relative(ROOT, p), `${st.size}:${st.mtimeMs}`);
    }
  }
  return into;
}

// ---------------------------------------------------------------------------------------------
// The pipeline per component: plan → apply → re-plan (→ apply → re-plan), then its gap pins.
// Never rejects: each step's runs are recorded and the tests below assert on them.
// ---------------------------------------------------------------------------------------------

interface Up {
  plan?: Run;
  /** The applies, the re-plans after each, in order. */
  applies: Run[];
  replans: Run[];
  /** Why the component was not (fully) brought up, if it was not. */
  blocked?: string;
  pins: Map<Gap, Run>;
  /** Managed resources in the state once it is up (before its destroy, which may follow at once). */
  stateResources: string[];
}

const ups = new Map<Component, Promise<Up>>();
function up(c: Component): Promise<Up> {
  let p = ups.get(c);
  if (!p) {
    p = bringUp(c);
    ups.set(c, p);
  }
  return p;
}

/**
 * Resolves once a component's first apply is through (or it will not be applied): what depends
 * on it may be planned then, while it converges a known drift and is re-planned.
 */
const readiness = new Map<Component, { promise: Promise<Up>; resolve: (u: Up) => void }>();
function ready(c: Component): Promise<Up> {
  let r = readiness.get(c);
  if (!r) {
    let resolve: (u: Up) => void = () => {};
    const promise = new Promise<Up>((res) => (resolve = res));
    r = { promise, resolve };
    readiness.set(c, r);
    void up(c).then(resolve);
  }
  return r.promise;
}

async function bringUp(c: Component): Promise<Up> {
  const result: Up = { applies: [], replans: [], pins: new Map(), stateResources: [] };
  const deps = await Promise.all((DEPENDS_ON.get(c) ?? []).map(async (d) => [d, await ready(d)] as const));
  const broken = deps.filter(([d, u]) => u.blocked && !SLOW[d]).map(([d]) => d);
  if (broken.length > 0) {
    result.blocked = `depends on ${broken.join(', ')}, which did not come up`;
    return result;
  }
  const extra = excludes(c);
  result.plan = await atmos(['terraform', 'plan', c, '-s', STACK, '-no-color']);
  if (result.plan.status !== 0) {
    result.blocked = 'plan failed';
    return result;
  }
  if (SLOW[c] && !runSlow) {
    result.blocked = `slow: ${SLOW[c]}`;
    return result;
  }
  const apply = () => atmos(['terraform', 'apply', c, '-s', STACK, '-auto-approve', '-no-color', ...extra]);
  const replan = () => atmos(['terraform', 'plan', c, '-s', STACK, '-no-color', '-detailed-exitcode', ...extra]);
  for (let round = 0; round < 2; round++) {
    const a = await apply();
    result.applies.push(a);
    if (a.status !== 0) {
      result.blocked = 'apply failed';
      return result;
    }
    ready(c); // creates the entry if nobody asked yet
    readiness.get(c)!.resolve(result);
    const r = await replan();
    result.replans.push(r);
    // Exit 2 = changes; a converging drift gets one more apply.
    if (r.status !== 2 || !KNOWN_DRIFT[c]?.converges) break;
  }
  for (const g of GAPS.filter((gap) => gap.component === c)) {
    result.pins.set(
      g,
      await atmos(['terraform', 'apply', c, '-s', STACK, '-auto-approve', '-no-color', `-target=${g.address}`]),
    );
  }
  result.stateResources = stateResources(c);
  return result;
}

/**
 * Destroys every component as soon as it is up (applied, re-planned, its gaps probed) and
 * everything that depends on it is destroyed: reverse dependency order, in parallel otherwise, and
 * overlapping with the components still coming up (lambda-enrichment's destroy alone takes minutes:
 * the provider wants 15 consecutive "queue does not exist" answers, 3 s or more apart).
 */
let destroys: Map<Component, Promise<Run>> | undefined;
function destroyAll(): Map<Component, Promise<Run>> {
  if (destroys) return destroys;
  const all = new Map<Component, Promise<Run>>();
  destroys = all;
  const dependents = (c: Component) => COMPONENTS.filter((d) => DEPENDS_ON.get(d)?.includes(c));
  const destroy = (c: Component): Promise<Run> => {
    let p = all.get(c);
    if (!p) {
      p = Promise.all([up(c), ...dependents(c).map(destroy)]).then(() =>
        atmos(['terraform', 'destroy', c, '-s', STACK, '-auto-approve', '-no-color']),
      );
      all.set(c, p);
    }
    return p;
  };
  for (const c of COMPONENTS) destroy(c);
  return all;
}

async function writeSummary(): Promise<void> {
  if (ups.size === 0) return;
  const fmt = (runs: Array<Run | undefined>) => {
    const done = runs.filter((r): r is Run => r !== undefined);
    if (done.length === 0) return '-';
    const ok = done.every((r) => r.status === 0 || (r.args.includes('-detailed-exitcode') && r.status === 2));
    return `${done.map((r) => r.seconds.toFixed(1)).join('+')}${ok ? '' : ' FAIL'}`;
  };
  const rows: string[][] = [];
  for (const c of COMPONENTS) {
    const u = await ups.get(c);
    const d = await destroys?.get(c);
    const last = u?.replans.at(-1);
    const noChange = last
      ? last.status === 0
        ? 'No changes'
        : KNOWN_DRIFT[c] && !KNOWN_DRIFT[c]?.converges
          ? 'known drift'
          : 'CHANGES'
      : (u?.blocked ?? '-');
    rows.push([
      c,
      fmt([u?.plan]),
      fmt(u?.applies ?? []),
      `${fmt(u?.replans ?? [])} ${last ? noChange : ''}`.trim(),
      fmt([d]),
    ]);
  }
  const head = ['component', 'plan s', 'apply s', 're-plan s', 'destroy s'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((x, i) => x.padEnd(widths[i])).join(' | ')} |`;
  const lines = [
    `apply tier, stack ${STACK}, ${JOBS} atmos runs at once${runSlow ? ', APPLY_TIER_SLOW=1' : ''}`,
    ...(emulators
      ? [emulators.moto, emulators.kinesis, emulators.cloudwatch].map(
          (e) => `  ${e.name} (${e.version}) on ${e.endpoint}: ${e.serves}; up in ${e.startSeconds.toFixed(2)} s`,
        )
      : []),
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '("a+b": a first apply and the one that converged a known drift; "-": not run)',
    ...GAPS.map((g) => `gap pinned: ${g.component} ${g.type}: ${g.why}`),
    ...Object.entries(SLOW).map(([c, why]) => `${runSlow ? 'applied (slow)' : 'plan only'}: ${c}: ${why}`),
  ];
  mkdirSync(dirname(SUMMARY), { recursive: true });
  writeFileSync(SUMMARY, `${lines.join('\n')}\n`);
}

beforeAll(async () => {
  emulators = await startEmulators();
  // Kick off the whole pipeline: every step waits for what it needs by itself.
  for (const c of COMPONENTS) void up(c);
  destroyAll();
}, 120_000);

afterAll(async () => {
  try {
    await writeSummary();
  } finally {
    await emulators?.stopAll();
  }
}, 15 * 60_000);

const assertRun = (r: Run | undefined, what: string) => {
  expect(r, `${what} did not run`).toBeDefined();
  expect(r!.status, `atmos ${r!.args.join(' ')} failed:\n${tail(r!.output)}`).toBe(0);
};

describe.sequential(`apply tier: atmos terraform against the emulators (stack ${STACK})`, () => {
  it('artifacts are built (Lambda zip, Flink jar)', () => {
    for (const f of [
      'components/lambda-enrichment/dist/enrichment.zip',
      'components/kinesis-analytics/dist/flink-aggregator.jar',
    ]) {
      expect(existsSync(join(ROOT, f)), `${f} missing: npm run build:lambda / build:flink`).toBe(true);
    }
  });

  it('the stack has the ten components, and every gap, slow entry and drift names something they have', () => {
    expect(COMPONENTS).toHaveLength(10);
    for (const g of GAPS) {
      const [type, name] = g.address.split('.');
      expect(type, g.address).toBe(g.type);
      expect(resources(g.component)[type]?.[name], `${g.address} in ${g.component}`).toBeDefined();
    }
    for (const c of [...Object.keys(SLOW), ...Object.keys(KNOWN_DRIFT)]) expect(COMPONENTS).toContain(c);
    for (const [c, addresses] of Object.entries(CLOSED_GAPS)) {
      for (const a of addresses ?? []) {
        const [type, name] = a.split('.');
        expect(resources(c)[type]?.[name], `${a} in ${c}`).toBeDefined();
      }
    }
    for (const [c, drift] of Object.entries(KNOWN_DRIFT)) {
      for (const a of drift?.addresses ?? []) {
        const [type, name] = a.split('.');
        expect(resources(c)[type]?.[name], `${a} in ${c}`).toBeDefined();
      }
    }
  });

  for (const c of COMPONENTS) {
    it(`plan ${c}`, async () => {
      const u = await up(c);
      expect(u.blocked?.startsWith('depends on') ? u.blocked : undefined, `${c} was not planned`).toBeUndefined();
      assertRun(u.plan, `plan ${c}`);
      expect(u.plan!.output).toMatch(/Plan: \d+ to add, \d+ to change, \d+ to destroy\.|No changes\./);
    });
  }

  for (const c of COMPONENTS) {
    if (SLOW[c] && !runSlow) {
      it.skip(`apply ${c} (slow: ${SLOW[c]}; APPLY_TIER_SLOW=1 to run it)`, () => {});
      continue;
    }
    it(`apply ${c}, then plan shows no changes`, async () => {
      const u = await up(c);
      expect(u.applies.length, `${c} was not applied: ${u.blocked}`).toBeGreaterThan(0);
      for (const a of u.applies) {
        assertRun(a, `apply ${c}`);
        expect(a.output).toMatch(/Apply complete! Resources: \d+ added/);
      }
      const drift = KNOWN_DRIFT[c];
      const first = u.replans[0];
      expect(first, `no re-plan of ${c}`).toBeDefined();
      if (drift) {
        expect(
          first.status,
          `no drift after the apply of ${c}: remove it from KNOWN_DRIFT\n${tail(first.output)}`,
        ).toBe(2);
        const changes = plannedChanges(first.output);
        expect([...changes.keys()].sort()).toEqual([...drift.addresses].sort());
        expect(new Set(changes.values())).toEqual(new Set(['updated in-place']));
      }
      if (!drift || drift.converges) {
        const last = u.replans.at(-1)!;
        expect(u.replans.length, `${c}: ${drift ? 'one converging apply expected' : 'no second apply expected'}`).toBe(
          drift ? 2 : 1,
        );
        expect(
          last.status,
          `plan after apply of ${c} is not empty (exit 2 = changes):\n${tail(last.output, 120)}`,
        ).toBe(0);
        expect(last.output).toMatch(/No changes\./);
      }
      // The state is where the backend says, not in the component folder.
      expect(u.stateResources.length).toBeGreaterThan(0);
      for (const a of CLOSED_GAPS[c] ?? []) expect(u.stateResources, `${a} not applied`).toContain(a);
      expect(readdirSync(join(ROOT, 'components', c)).filter((f) => /^terraform\.tfstate/.test(f))).toEqual([]);
    });
  }

  for (const g of GAPS) {
    it(`gap: ${g.component} ${g.address} cannot be created (${g.why})`, async () => {
      const u = await up(g.component);
      const r = u.pins.get(g);
      expect(r, `${g.component} was not applied (${u.blocked}), so the gap was not probed`).toBeDefined();
      expect(r!.status, `${g.address} was created: drop it from GAPS`).not.toBe(0);
      expect(oneLine(r!.output), tail(r!.output)).toMatch(g.error);
    });
  }

  for (const c of [...COMPONENTS].reverse()) {
    it(`destroy ${c}`, async () => {
      const r = await destroyAll().get(c)!;
      assertRun(r, `destroy ${c}`);
      expect(stateResources(c)).toEqual([]);
    });
  }

  it('the generated backend keeps state in .state/local/<component>, outside the component folder', async () => {
    await Promise.all(destroyAll().values());
    for (const c of COMPONENTS) {
      const dir = join(ROOT, 'components', c);
      const backend = JSON.parse(readFileSync(join(dir, 'backend.tf.json'), 'utf8')).terraform.backend.local;
      const path = resolve(dir, backend.path);
      const workspaceDir = resolve(dir, backend.workspace_dir);
      expect(isAbsolute(backend.path), 'relative path: no machine-specific path').toBe(false);
      expect(path).toBe(join(ROOT, '.state', 'local', c, 'terraform.tfstate'));
      expect(workspaceDir).toBe(join(ROOT, '.state', 'local', c));
      expect(relative(dir, workspaceDir).startsWith('..')).toBe(true);
      // Plan selected (created) the stack's workspace there, and wrote no state beside main.tf.json.
      expect(existsSync(dirname(stateFile(c))), `${dirname(stateFile(c))}`).toBe(true);
      expect(readdirSync(dir).filter((f) => /^terraform\.tfstate/.test(f) || f === 'terraform.tfstate.d')).toEqual([]);
    }
  });

  it('re-running npm run synth after the atmos runs leaves .terraform/, the lock files and the state alone', async () => {
    // After the destroys, so that no atmos run writes meanwhile; .terraform/ and the lock files
    // are all still there, and the states (empty now) too.
    await Promise.all(destroyAll().values());
    const watched = () => {
      const m = new Map<string, string>();
      for (const c of COMPONENTS) {
        const dir = join(ROOT, 'components', c);
        snapshot(join(dir, '.terraform'), m);
        for (const f of ['.terraform.lock.hcl', 'backend.tf.json', 'providers_override.tf.json']) {
          const p = join(dir, f);
          if (existsSync(p)) m.set(relative(ROOT, p), readFileSync(p, 'utf8'));
        }
      }
      snapshot(join(ROOT, '.state', 'local'), m);
      return m;
    };
    const before = watched();
    expect([...before.keys()].some((k) => k.includes('.terraform/providers/'))).toBe(true);
    const r = spawnSync('npm', ['run', '--silent', 'synth'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(watched()).toEqual(before);
  });
});
