/**
 * The Flink job's configuration contract, declared once: every key of the `pipeline` property
 * group that flink/src/main/java/.../config/PipelineConfig.java reads, with its type, range or
 * allowed values, default and the Terraform variable that sets it.
 *
 * - The component (index.ts) takes each variable's default/range/enum from here and builds the
 *   property map from this list.
 * - `npm run synth` writes it as flink/pipeline-properties.json (committed; scripts/test.sh fails
 *   when it is stale), and flink's PipelineConfigContractTest checks that PipelineConfig declares
 *   exactly these keys and accepts exactly these ranges, values and defaults.
 *
 * Free of CDKTF imports: components/synth.ts and the tests read it as plain data.
 */
import { RESOURCE_NAME } from '../shared/patterns';

/** The property group the job reads (PipelineConfig.GROUP). */
export const PROPERTY_GROUP = 'pipeline';

/** Where `npm run synth` writes the contract, relative to the repository root. */
export const PROPERTIES_FILE = 'flink/pipeline-properties.json';

interface PropertyBase {
  /** The property key. */
  readonly key: string;
  /** One line: what the job does with it. */
  readonly doc: string;
  /**
   * Who sets it: `variable` (the Terraform variable named by `variable`), `component` (wired by
   * the component itself: region, stream ARNs) or `local` (local runs and tests only, never set
   * on Managed Flink).
   */
  readonly setBy: 'variable' | 'component' | 'local';
  /** The kinesis-analytics variable that sets it (setBy = variable). */
  readonly variable?: string;
  /** Set, and required by the job, only when another key has this value. */
  readonly when?: { readonly key: string; readonly equals: string | boolean };
}

export interface IntegerProperty extends PropertyBase {
  readonly type: 'integer';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

export interface EnumProperty extends PropertyBase {
  readonly type: 'enum';
  readonly default: string;
  readonly allowed: readonly string[];
}

export interface BooleanProperty extends PropertyBase {
  readonly type: 'boolean';
  readonly default: boolean;
}

export interface StringProperty extends PropertyBase {
  readonly type: 'string';
  /** Required always (no `when`) or when `when` holds. */
  readonly required: boolean;
  /**
   * The values the variable admits: an expression that means the same in RE2, ECMAScript and
   * java.util.regex (no anchors, no `\d`); absent for values the component wires itself.
   */
  readonly pattern?: { readonly regex: string; readonly hint: string };
  /** A valid value, for documentation and for the Java contract test. */
  readonly example: string;
}

export type PipelineProperty = IntegerProperty | EnumProperty | BooleanProperty | StringProperty;

/** A Timestream database or table name. */
const TIMESTREAM_NAME = { regex: '[a-zA-Z0-9_.-]{3,256}', hint: '3-256 letters, digits, "_", "." or "-"' };

/** In PipelineConfig's order. */
export const PIPELINE_PROPERTIES: readonly PipelineProperty[] = [
  {
    key: 'aws.region',
    type: 'string',
    doc: 'Region of the streams and Timestream.',
    setBy: 'component',
    required: true,
    example: 'eu-west-1',
  },
  {
    key: 'input.stream.arn',
    type: 'string',
    doc: 'ARN of the ingest stream.',
    setBy: 'component',
    required: true,
    example: 'arn:aws:kinesis:eu-west-1:123456789012:stream/acme-ew1-dev-ingest',
  },
  {
    key: 'output.stream.arn',
    type: 'string',
    doc: 'ARN of the stream the aggregates are written to.',
    setBy: 'component',
    required: true,
    example: 'arn:aws:kinesis:eu-west-1:123456789012:stream/acme-ew1-dev-output',
  },
  {
    key: 'input.reader',
    type: 'enum',
    doc: 'How the job reads the ingest stream: POLLING (shared throughput) or EFO.',
    setBy: 'variable',
    variable: 'input_reader',
    default: 'POLLING',
    allowed: ['POLLING', 'EFO'],
  },
  {
    key: 'input.efo.consumer.name',
    type: 'string',
    doc: 'Registered EFO consumer of the ingest stream.',
    setBy: 'variable',
    variable: 'efo_consumer_name',
    when: { key: 'input.reader', equals: 'EFO' },
    required: true,
    pattern: RESOURCE_NAME,
    example: 'flink-aggregator',
  },
  {
    key: 'input.initial.position',
    type: 'enum',
    doc: 'Where a job without state starts reading.',
    setBy: 'variable',
    variable: 'initial_position',
    default: 'LATEST',
    allowed: ['LATEST', 'TRIM_HORIZON'],
  },
  {
    key: 'window.size.minutes',
    type: 'integer',
    doc: 'Tumbling event-time window length, in minutes.',
    setBy: 'variable',
    variable: 'window_size_minutes',
    default: 5,
    min: 1,
    max: 1440,
  },
  {
    key: 'window.allowed.lateness.seconds',
    type: 'integer',
    doc: 'How late an event may be and still update its window, in seconds.',
    setBy: 'variable',
    variable: 'allowed_lateness_seconds',
    default: 0,
    min: 0,
    max: 3600,
  },
  {
    key: 'watermark.out.of.orderness.seconds',
    type: 'integer',
    doc: 'Watermark delay for out-of-order events, in seconds.',
    setBy: 'variable',
    variable: 'out_of_orderness_seconds',
    default: 30,
    min: 0,
    max: 3600,
  },
  {
    key: 'watermark.idleness.seconds',
    type: 'integer',
    doc: 'A shard without events for this long stops holding back the watermark, in seconds.',
    setBy: 'variable',
    variable: 'idleness_seconds',
    default: 60,
    min: 1,
    max: 3600,
  },
  {
    key: 'event.max.future.skew.seconds',
    type: 'integer',
    doc: 'An event more than this far ahead of processing time is set aside, in seconds.',
    setBy: 'variable',
    variable: 'max_future_skew_seconds',
    default: 300,
    min: 0,
    max: 86_400,
  },
  {
    key: 'input.polling.interval.ms',
    type: 'integer',
    doc: 'POLLING: least time between two GetRecords calls on one shard, in ms.',
    setBy: 'variable',
    variable: 'polling_interval_ms',
    default: 1000,
    min: 200,
    max: 60_000,
  },
  {
    key: 'timestream.enabled',
    type: 'boolean',
    doc: 'Also write the aggregates to Timestream.',
    setBy: 'variable',
    variable: 'timestream_enabled',
    default: false,
  },
  {
    key: 'timestream.database',
    type: 'string',
    doc: 'Timestream database.',
    setBy: 'variable',
    variable: 'timestream_database_name',
    when: { key: 'timestream.enabled', equals: true },
    required: true,
    pattern: TIMESTREAM_NAME,
    example: 'acme_db',
  },
  {
    key: 'timestream.table',
    type: 'string',
    doc: 'Timestream table.',
    setBy: 'variable',
    variable: 'timestream_table_name',
    when: { key: 'timestream.enabled', equals: true },
    required: true,
    pattern: TIMESTREAM_NAME,
    example: 'aggregates',
  },
  {
    key: 'aws.endpoint.url',
    type: 'string',
    doc: 'Endpoint of local emulators (local runs and tests only).',
    setBy: 'local',
    required: false,
    example: 'http://127.0.0.1:4566',
  },
];

/** The declaration of one key; throws on a key the job does not read. */
export function pipelineProperty(key: string): PipelineProperty {
  const p = PIPELINE_PROPERTIES.find((q) => q.key === key);
  if (p === undefined) throw new Error(`"${key}" is not a key of property group "${PROPERTY_GROUP}"`);
  return p;
}

/** Default and bounds of an integer key, in the shape numberVariable takes. */
export function integerRange(key: string): { default: number; min: number; max: number } {
  const p = pipelineProperty(key);
  if (p.type !== 'integer') throw new Error(`"${key}" is a ${p.type} property, not an integer one`);
  return { default: p.default, min: p.min, max: p.max };
}

/** Default and values of an enum key, in the shape stringVariable takes. */
export function enumValues(key: string): { default: string; allowed: readonly string[] } {
  const p = pipelineProperty(key);
  if (p.type !== 'enum') throw new Error(`"${key}" is a ${p.type} property, not an enum one`);
  return { default: p.default, allowed: p.allowed };
}

/** Default of a boolean key. */
export function booleanDefault(key: string): boolean {
  const p = pipelineProperty(key);
  if (p.type !== 'boolean') throw new Error(`"${key}" is a ${p.type} property, not a boolean one`);
  return p.default;
}

/** Pattern of a string key that a variable sets. */
export function stringPattern(key: string): { regex: string; hint: string } {
  const p = pipelineProperty(key);
  if (p.type !== 'string' || p.pattern === undefined) throw new Error(`"${key}" has no declared pattern`);
  return p.pattern;
}

/**
 * The Terraform expression of the property map: the keys set unconditionally, merged with each
 * group of `when` keys under its condition (the job rejects empty values, so a key is present only
 * when it applies). `wired` holds the HCL expressions of the component-set keys. One hand-written
 * expression, since CDKTF's Fn helpers cannot nest conditionals.
 */
export function propertyMapExpression(wired: Readonly<Record<string, string>>): string {
  for (const key of Object.keys(wired)) {
    if (pipelineProperty(key).setBy !== 'component') throw new Error(`"${key}" is not wired by the component`);
  }
  const valueExpression = (p: PipelineProperty): string => {
    if (p.setBy === 'component') {
      const expression = wired[p.key];
      if (expression === undefined) throw new Error(`"${p.key}" has no wiring`);
      return expression;
    }
    const ref = `var.${p.variable}`;
    return p.type === 'integer' || p.type === 'boolean' ? `tostring(${ref})` : ref;
  };
  const entry = (p: PipelineProperty) => `${JSON.stringify(p.key)} = ${valueExpression(p)}`;
  const set = PIPELINE_PROPERTIES.filter((p) => p.setBy !== 'local');
  const always = set.filter((p) => p.when === undefined).map(entry);
  const groups = new Map<string, string[]>();
  for (const p of set) {
    if (p.when === undefined) continue;
    const on = pipelineProperty(p.when.key);
    const ref = `var.${on.variable}`;
    const { equals } = p.when;
    const condition = typeof equals === 'boolean' ? (equals ? ref : `!${ref}`) : `${ref} == ${JSON.stringify(equals)}`;
    groups.set(condition, [...(groups.get(condition) ?? []), entry(p)]);
  }
  const conditional = [...groups].map(([condition, entries]) => `${condition} ? { ${entries.join(', ')} } : {}`);
  return `\${merge({ ${always.join(', ')} }, ${conditional.join(', ')})}`;
}

/** The generated flink/pipeline-properties.json (what the Java contract test reads). */
export function propertiesDocument(): object {
  return {
    $comment:
      'Generated by components/synth.ts from components/kinesis-analytics/properties.ts. Do not edit; flink PipelineConfigContractTest checks PipelineConfig against it.',
    propertyGroupId: PROPERTY_GROUP,
    properties: PIPELINE_PROPERTIES,
  };
}
