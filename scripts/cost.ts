/**
 * atmos cost: the monthly cost of a stack, per component and line item, from the vars real Atmos
 * resolves for it, the synthesized components and the dated price table (cost/prices/<region>.json).
 *
 *   atmos cost -s prod [--throughput 10MB/s] [--record-bytes 1024] [--hours 730] [--json]
 *   atmos cost --blueprint-table                  the blueprint's 1/10/100 MB/s rows, per deploy stack,
 *                                                ON_DEMAND and PROVISIONED streams
 * Further assumptions: --customers N, --hit-rate 0..1, --duration-ms MS (see scripts/cost/model.ts).
 * Offline: nothing here calls AWS.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPONENTS } from '../components/registry';
import { findRepoRoot } from '../components/synth';
import { atmosEnv, describeStacksArgs } from './lib/atmos';
import {
  DEFAULT_ASSUMPTIONS,
  estimate,
  shardsNeeded,
  traffic,
  type Assumptions,
  type Estimate,
  type StackInput,
} from './cost/model';
import { loadPriceTable } from './cost/prices';
import { renderBlueprintMarkdown, renderText, type BlueprintRow } from './cost/render';
import { readSynthesized, type Vars } from './cost/resources';
import {
  CostInputError,
  parseCount,
  parseFraction,
  parseHours,
  parsePositive,
  parseRecordBytes,
  parseThroughput,
} from './cost/units';

/** The blueprint's cost table (shared/blueprint.md, "Cost Estimate"). */
export const BLUEPRINT_ROWS = [
  { throughputMbS: 1, seed: '$100-200' },
  { throughputMbS: 10, seed: '$500-1,000' },
  { throughputMbS: 100, seed: '$3,000-5,000' },
] as const;
export const BLUEPRINT_STACKS = ['dev', 'staging', 'prod'] as const;
const DEFAULT_THROUGHPUT = '1MB/s';

export interface CostArgs {
  stack?: string;
  json: boolean;
  blueprintTable: boolean;
  overrides: Partial<Assumptions>;
  throughputBytesPerSecond: number;
}

const VALUE_FLAGS = [
  '--stack',
  '-s',
  '--throughput',
  '--record-bytes',
  '--hours',
  '--customers',
  '--hit-rate',
  '--duration-ms',
];
const BOOL_FLAGS = ['--json', '--blueprint-table'];

/** Parses argv (flags as `--flag value` or `--flag=value`); throws CostInputError naming the flag. */
export function parseArgs(argv: readonly string[]): CostArgs {
  const values: Record<string, string> = {};
  const bools = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (BOOL_FLAGS.includes(name)) {
      if (eq > 0) throw new CostInputError(`${name} takes no value`);
      bools.add(name);
    } else if (VALUE_FLAGS.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new CostInputError(`${name} needs a value`);
      values[name === '-s' ? '--stack' : name] = value;
    } else {
      throw new CostInputError(`unknown argument "${arg}"; flags: ${[...VALUE_FLAGS, ...BOOL_FLAGS].join(', ')}`);
    }
  }
  const overrides: { -readonly [K in keyof Assumptions]?: Assumptions[K] } = {};
  if (values['--record-bytes'] !== undefined) overrides.recordBytes = parseRecordBytes(values['--record-bytes']);
  if (values['--hours'] !== undefined) overrides.hours = parseHours(values['--hours']);
  if (values['--customers'] !== undefined)
    overrides.customers = parseCount(values['--customers'], '--customers', '10000');
  if (values['--hit-rate'] !== undefined) overrides.hitRate = parseFraction(values['--hit-rate'], '--hit-rate');
  if (values['--duration-ms'] !== undefined)
    overrides.durationMsPerBatch = parsePositive(values['--duration-ms'], '--duration-ms', '120');
  const args: CostArgs = {
    stack: values['--stack'],
    json: bools.has('--json'),
    blueprintTable: bools.has('--blueprint-table'),
    overrides,
    throughputBytesPerSecond: parseThroughput(values['--throughput'] ?? DEFAULT_THROUGHPUT),
  };
  if (!args.blueprintTable && !args.stack)
    throw new CostInputError('--stack (-s) is required (e.g. -s prod), unless --blueprint-table');
  if (args.blueprintTable && values['--throughput'] !== undefined)
    throw new CostInputError("--throughput: not with --blueprint-table, which uses the blueprint's 1, 10 and 100 MB/s");
  return args;
}

type Described = Record<string, { components: { terraform: Record<string, { vars: Vars }> } }>;

/** Resolved vars of every component in the given stacks, from real Atmos. */
export function describeStacks(root: string, stacks: readonly string[]): Record<string, Record<string, Vars>> {
  const atmosBin = join(root, '.tools', 'bin', 'atmos');
  const out: Record<string, Record<string, Vars>> = {};
  for (const stack of stacks) {
    const r = spawnSync(atmosBin, describeStacksArgs({ stack, sections: ['vars'] }), {
      cwd: root,
      encoding: 'utf8',
      env: atmosEnv(),
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw new Error(`cannot run ${atmosBin} (run scripts/bootstrap.sh): ${r.error.message}`);
    if (r.status !== 0) throw new Error(`atmos describe stacks --stack ${stack} failed:\n${r.stderr}`);
    const described = JSON.parse(r.stdout) as Described;
    const entry = described[stack];
    if (!entry)
      throw new CostInputError(
        `--stack: no stack "${stack}"; deploy stacks are the files under stacks/deploy (e.g. dev, staging, prod)`,
      );
    out[stack] = Object.fromEntries(Object.entries(entry.components.terraform).map(([c, v]) => [c, v.vars]));
  }
  return out;
}

/** Distinct metric names the enrichment handler emits (addMetric('Name', ...) in lambda-src/src). */
export function lambdaMetricNames(root: string): string[] {
  const dir = join(root, 'lambda-src', 'src');
  const names = new Set<string>();
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.ts')) continue;
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/addMetric\('([A-Za-z0-9_]+)'/g)) names.add(m[1]!);
  }
  return [...names].sort();
}

export function stackInput(root: string, stack: string, vars: Record<string, Vars>): StackInput {
  const region = Object.values(vars)[0]?.region;
  if (typeof region !== 'string') throw new Error(`stack ${stack}: no region var`);
  return {
    stack,
    region,
    vars,
    tf: Object.fromEntries(Object.keys(COMPONENTS).map((c) => [c, readSynthesized(root, c)])),
    lambdaMetricNames: lambdaMetricNames(root),
  };
}

/** The same stack with both streams PROVISIONED at the shards the traffic needs. */
export function provisionedVariant(
  input: StackInput,
  a: Assumptions,
): { input: StackInput; shards: { ingest: number; output: number } } {
  const t = traffic(input, a);
  const shards = { ingest: shardsNeeded(t.ingestTraffic, a.hours), output: shardsNeeded(t.outputTraffic, a.hours) };
  const vars = {
    ...input.vars,
    'kinesis-ingest': { ...input.vars['kinesis-ingest'], stream_mode: 'PROVISIONED', shard_count: shards.ingest },
    'kinesis-output': { ...input.vars['kinesis-output'], stream_mode: 'PROVISIONED', shard_count: shards.output },
  };
  return { input: { ...input, vars }, shards };
}

export function blueprintRows(root: string, args: CostArgs): BlueprintRow[] {
  const described = describeStacks(root, BLUEPRINT_STACKS);
  const rows: BlueprintRow[] = [];
  for (const seed of BLUEPRINT_ROWS) {
    for (const stack of BLUEPRINT_STACKS) {
      const input = stackInput(root, stack, described[stack]!);
      const prices = loadPriceTable(root, input.region);
      const a: Assumptions = {
        ...DEFAULT_ASSUMPTIONS,
        ...args.overrides,
        throughputBytesPerSecond: seed.throughputMbS * 1e6,
      };
      const onDemandInput = {
        ...input,
        vars: {
          ...input.vars,
          'kinesis-ingest': { ...input.vars['kinesis-ingest'], stream_mode: 'ON_DEMAND', shard_count: null },
          'kinesis-output': { ...input.vars['kinesis-output'], stream_mode: 'ON_DEMAND', shard_count: null },
        },
      };
      const provisioned = provisionedVariant(input, a);
      rows.push({
        throughputMbS: seed.throughputMbS,
        seed: seed.seed,
        stack,
        onDemand: estimate(onDemandInput, prices, a),
        provisioned: estimate(provisioned.input, prices, a),
        provisionedShards: provisioned.shards,
      });
    }
  }
  return rows;
}

export function run(argv: readonly string[], root = findRepoRoot(__dirname)): string {
  const args = parseArgs(argv);
  if (args.blueprintTable) {
    const rows = blueprintRows(root, args);
    const prices = loadPriceTable(root, rows[0]!.onDemand.region);
    const recordBytes = args.overrides.recordBytes ?? DEFAULT_ASSUMPTIONS.recordBytes;
    if (args.json)
      return `${JSON.stringify(
        rows.map((r) => ({
          throughput_mb_s: r.throughputMbS,
          blueprint: r.seed,
          stack: r.stack,
          on_demand: r.onDemand,
          provisioned: r.provisioned,
          provisioned_shards: r.provisionedShards,
        })),
        null,
        2,
      )}\n`;
    return renderBlueprintMarkdown(rows, prices, recordBytes);
  }
  const stack = args.stack!;
  const input = stackInput(root, stack, describeStacks(root, [stack])[stack]!);
  const prices = loadPriceTable(root, input.region);
  const e: Estimate = estimate(input, prices, {
    ...DEFAULT_ASSUMPTIONS,
    ...args.overrides,
    throughputBytesPerSecond: args.throughputBytesPerSecond,
  });
  return args.json ? `${JSON.stringify(e, null, 2)}\n` : renderText(e, prices);
}

if (require.main === module) {
  try {
    process.stdout.write(run(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`atmos cost: ${(e as Error).message}\n`);
    process.exit(e instanceof CostInputError ? 2 : 1);
  }
}
