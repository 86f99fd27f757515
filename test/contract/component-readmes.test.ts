/**
 * The component READMEs are generated from the code (scripts/component-readmes.ts, run by
 * `npm run synth`): regenerated into a temporary folder they equal the committed ones, they list
 * every resource, variable, output and alarm of the synthesized JSON, and the rendering of each
 * kind of input, rule and alarm is pinned on a small hand-made component.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPONENTS } from '../../components/registry';
import {
  type ComponentJson,
  type ComponentSchema,
  GENERATED_MARKER,
  generateReadmes,
  readmeFor,
  renderReadme,
} from '../../scripts/component-readmes';
import { REPO_ROOT } from '../support/paths';
import { readComponent } from '../support/synth';

const COMPONENTS_DIR = join(REPO_ROOT, 'components');
const SCHEMAS_DIR = join(REPO_ROOT, 'stacks', 'schemas', 'jsonschema');
const tmp = mkdtempSync(join(tmpdir(), 'readmes-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The version of a file git would commit (the index), or undefined outside a git checkout. */
function indexed(path: string): string | undefined {
  try {
    return execFileSync('git', ['show', `:${path}`], { cwd: REPO_ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch {
    return undefined;
  }
}

/** The rows of the markdown table under `## <heading>`, as cells (unescaped). */
function table(readme: string, heading: string): string[][] {
  const section = readme.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  if (!section) return [];
  return section
    .split('\n')
    .filter((l) => l.startsWith('| '))
    .slice(1) // the header row
    .map((l) =>
      l
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((c) => c.trim().replace(/\\\|/g, '|')),
    );
}
const firstColumn = (rows: string[][]) => rows.map((r) => r[0]!.replace(/^`|`$/g, ''));

describe.each(Object.keys(COMPONENTS))('%s', (component) => {
  const generated = generateReadmes({
    componentsDir: COMPONENTS_DIR,
    schemasDir: SCHEMAS_DIR,
    outDir: tmp,
    only: [component],
  })[0]!;
  const readme = readFileSync(generated.path, 'utf8');
  const tf = readComponent(component);

  it('the README in the folder, and the one git would commit, are what the generator writes', () => {
    const relative = `components/${component}/README.md`;
    expect(readFileSync(join(REPO_ROOT, relative), 'utf8'), `${relative} is stale: run npm run synth`).toBe(readme);
    const committed = indexed(relative);
    if (committed !== undefined) {
      expect(committed, `${relative} differs from the index: run npm run synth and git add it`).toBe(readme);
    }
  });

  it('starts with the hand-written intro', () => {
    const intro = readFileSync(join(COMPONENTS_DIR, component, 'README.intro.md'), 'utf8').trim();
    expect(intro.length).toBeGreaterThan(80);
    expect(readme.startsWith(`# ${component}\n\n${GENERATED_MARKER}\n\n${intro}\n`)).toBe(true);
  });

  it('lists every resource block', () => {
    const rows = table(readme, 'Creates').map((r) => `${r[0]!.replace(/`/g, '')}.${r[1]!.replace(/`/g, '')}`);
    const expected = Object.entries(tf.resource ?? {}).flatMap(([type, byName]) =>
      Object.keys(byName).map((name) => `${type}.${name}`),
    );
    expect(rows.sort()).toEqual(expected.sort());
  });

  it('lists every variable with its default and the range, values or pattern of its schema', () => {
    const rows = table(readme, 'Inputs');
    expect(firstColumn(rows).sort()).toEqual(Object.keys(tf.variable).sort());
    const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, `${component}.json`), 'utf8')) as {
      properties: {
        vars: {
          properties: Record<string, Record<string, unknown>>;
          required?: string[];
          allOf?: { if?: unknown; properties?: Record<string, Record<string, unknown>> }[];
        };
      };
    };
    // A component-wide rule without `if` narrows a variable for every stack (log_retention_days' enum).
    const narrowed = Object.assign(
      {},
      ...(schema.properties.vars.allOf ?? []).filter((r) => r.if === undefined).map((r) => r.properties ?? {}),
    ) as Record<string, Record<string, unknown>>;
    for (const row of rows) {
      const name = row[0]!.replace(/`/g, '');
      const v = tf.variable[name]!;
      const [, type, dflt, allowed, description] = row;
      expect(type, name).toContain(v.type);
      if (!('default' in v)) expect(dflt, name).toBe('required');
      else if (typeof v.default === 'string') expect(dflt, name).toBe(v.default === '' ? '`""`' : `\`${v.default}\``);
      else expect(dflt, name).toBe(`\`${JSON.stringify(v.default)}\``);
      expect(schema.properties.vars.required ?? [], name).toEqual(expect.arrayContaining('default' in v ? [] : [name]));
      const p = { ...schema.properties.vars.properties[name]!, ...narrowed[name] };
      if (typeof p.minimum === 'number' && !p.enum) expect(allowed, name).toContain(`${p.minimum}–${p.maximum}`);
      for (const e of (p.enum as unknown[] | undefined) ?? [])
        if (e !== null) expect(allowed, name).toContain(String(e));
      if (typeof p.pattern === 'string') expect(allowed, name).toContain('matches `');
      // The one-line doc (the schema's title); the default and the allowed values have their columns.
      expect(description, name).toBe(String(p.title).replace(/\s*\n\s*/g, ' '));
      expect(v.description!.startsWith(String(p.title)), name).toBe(true);
    }
  });

  it('lists every output with its description', () => {
    const rows = table(readme, 'Outputs');
    expect(firstColumn(rows).sort()).toEqual(Object.keys(tf.output ?? {}).sort());
    for (const [name, description] of rows) expect(description).toBe(tf.output![name!.replace(/`/g, '')]!.description);
  });

  it('lists every alarm with its name, metric, dimensions and meaning', () => {
    const alarms = Object.values(tf.resource?.aws_cloudwatch_metric_alarm ?? {});
    const rows = table(readme, 'Alarms');
    expect(rows).toHaveLength(alarms.length);
    for (const alarm of alarms) {
      const name = String(alarm.alarm_name).replace('${local.label_id}', '<id>').replace('${each.value}', '<each>');
      const row = rows.find((r) => r[0]!.startsWith(`\`${name}\``));
      expect(row, name).toBeDefined();
      const metrics = (
        alarm.metric_query as { metric?: { metric_name: string; namespace: string; dimensions: object } }[]
      )
        ?.filter((q) => q.metric)
        .map((q) => q.metric!) ?? [alarm as { metric_name: string; namespace: string; dimensions: object }];
      for (const m of metrics) {
        expect(row![1], name).toContain(`${m.namespace} \`${m.metric_name}\``);
        for (const key of Object.keys(m.dimensions)) expect(row![2], name).toContain(`\`${key}\` = `);
      }
      expect(row![4], name).toBe(alarm.alarm_description);
    }
  });
});

describe('rendering', () => {
  const tf: ComponentJson = {
    locals: { label_id: '${join("-", [var.namespace, var.name])}' },
    variable: {
      name: { type: 'string', default: 'demo', description: 'Label: the name.', nullable: false },
      size: { type: 'number', default: null, description: 'Size in MB.', nullable: true },
      mode: { type: 'string', default: 'A', description: 'Mode.', nullable: false },
      ids: { type: 'list(string)', default: [], description: 'Ids | pipes escaped.', nullable: false },
      days: { type: 'number', default: 30, description: 'Days.', nullable: false },
      arn: {
        type: 'string',
        description: 'An ARN.',
        nullable: false,
        validation: [
          {
            condition: '${var.size == null ? true : var.size <= 10}',
            error_message: 'Invalid combination: arn with size.',
          },
        ],
      },
    },
    resource: {
      aws_sqs_queue: {
        queue: {
          name: 'q',
          lifecycle: { precondition: [{ condition: '${var.mode == "A"}', error_message: 'needs A' }] },
        },
      },
      aws_s3_bucket: { b: { count: '${var.size != null ? 1 : 0}' }, each: { for_each: '${toset(var.ids)}' } },
      aws_cloudwatch_metric_alarm: {
        simple: {
          alarm_name: '${local.label_id}-depth',
          alarm_description: 'Messages are waiting.',
          namespace: 'AWS/SQS',
          metric_name: 'ApproximateNumberOfMessagesVisible',
          dimensions: { QueueName: '${aws_sqs_queue.queue.name}' },
          statistic: 'Maximum',
          period: 60,
          evaluation_periods: 5,
          datapoints_to_alarm: 3,
          comparison_operator: 'GreaterThanOrEqualToThreshold',
          threshold: '${var.days}',
          treat_missing_data: 'notBreaching',
        },
        rate: {
          alarm_name: '${local.label_id}-rate',
          alarm_description: 'Too many errors.',
          comparison_operator: 'GreaterThanThreshold',
          evaluation_periods: 1,
          threshold: 1,
          metric_query: [
            { id: 'r', expression: '100 * e / i', return_data: true },
            {
              id: 'e',
              metric: {
                namespace: 'AWS/Lambda',
                metric_name: 'Errors',
                dimensions: { FunctionName: 'f' },
                stat: 'Sum',
                period: 300,
              },
            },
            {
              id: 'i',
              metric: {
                namespace: 'AWS/Lambda',
                metric_name: 'Invocations',
                dimensions: { FunctionName: 'f' },
                stat: 'Sum',
                period: 300,
              },
            },
          ],
        },
      },
    },
    data: { aws_partition: { partition: {} } },
    check: { retention: { assert: [{ condition: '${var.days >= 7}', error_message: 'days below a week.' }] } },
    output: { queue_url: { description: 'URL of the queue.' } },
  };
  const schema: ComponentSchema = {
    properties: {
      vars: {
        properties: {
          name: { type: 'string', description: 'Label: the name.', pattern: '^(?:[a-z][a-z0-9-]{0,23})$' },
          size: { type: ['integer', 'null'], description: 'Size in MB.', minimum: 1, maximum: 10 },
          mode: { type: 'string', description: 'Mode.', enum: ['A', 'B'] },
          ids: { type: 'array', items: { type: 'string', pattern: '^(?:id-[0-9]+)$' }, maxItems: 4, uniqueItems: true },
          days: { type: 'integer', minimum: 1, maximum: 3653 },
          arn: { type: 'string' },
        },
        required: ['arn'],
        allOf: [
          { if: { properties: { size: { type: 'integer' } } }, then: { required: ['arn'] } },
          { properties: { days: { enum: [1, 7, 30] } } },
        ],
      },
    },
  };
  const readme = renderReadme({ component: 'demo', tf, schema, intro: 'What demo is for.\n' });

  it('renders each kind of input from its declaration, in declaration order', () => {
    expect(table(readme, 'Inputs')).toEqual([
      ['`name`', 'string', '`demo`', 'matches `[a-z][a-z0-9-]{0,23}`', 'Label: the name.'],
      ['`size`', 'number, nullable', '`null`', 'whole number 1–10; or null', 'Size in MB.'],
      ['`mode`', 'string', '`A`', 'one of `A`, `B`', 'Mode.'],
      [
        '`ids`',
        'list(string)',
        '`[]`',
        'each matches `id-[0-9]+`; at most 4 distinct elements',
        'Ids | pipes escaped.',
      ],
      // The unconditional allOf enum is what a stack may set, not the plain range.
      ['`days`', 'number', '`30`', 'one of `1`, `7`, `30`', 'Days.'],
      ['`arn`', 'string', 'required', '', 'An ARN.'],
    ]);
  });

  it('lists resources with their count or for_each, and the data sources', () => {
    expect(table(readme, 'Creates')).toEqual([
      ['`aws_cloudwatch_metric_alarm`', '`rate`', 'always'],
      ['`aws_cloudwatch_metric_alarm`', '`simple`', 'always'],
      ['`aws_s3_bucket`', '`b`', 'count `var.size != null ? 1 : 0`'],
      ['`aws_s3_bucket`', '`each`', 'one per element of `toset(var.ids)`'],
      ['`aws_sqs_queue`', '`queue`', 'always'],
    ]);
    expect(readme).toContain('5 resource blocks (2 of them conditional or repeated), of 3 types.');
    expect(readme).toContain('Reads (data sources): `aws_partition` × 1.');
  });

  it('lists cross-variable validations, preconditions and check blocks with their messages', () => {
    expect(readme).toContain(
      '## Rules across inputs\n\nChecked by OpenTofu when it plans, before any change is made.\n\n' +
        '- `arn` (with `size`): Invalid combination: arn with size.\n' +
        '- `mode` (precondition of `aws_sqs_queue.queue`): needs A\n' +
        '- `days` (check `retention`, a warning only): days below a week.\n',
    );
  });

  it('renders metric-math and plain alarms (by resource name) with dimensions, condition and meaning', () => {
    expect(table(readme, 'Alarms')).toEqual([
      [
        '`<id>-rate`',
        '`100 * e / i` where `e` = AWS/Lambda `Errors` (Sum, 300 s), `i` = AWS/Lambda `Invocations` (Sum, 300 s)',
        '`FunctionName` = `f`',
        '> 1 for 1 period',
        'Too many errors.',
      ],
      [
        '`<id>-depth`',
        'AWS/SQS `ApproximateNumberOfMessagesVisible` (Maximum, 60 s)',
        '`QueueName` = `aws_sqs_queue.queue.name`',
        '≥ `var.days` (default 30) for 3 of 5 periods; missing data notBreaching',
        'Messages are waiting.',
      ],
    ]);
    expect(readme).toContain('`<id>` below is the label `<namespace>-<name>` (`name` defaults to `demo`).');
  });

  it('refuses a component without README.intro.md, naming the file', () => {
    const dir = join(tmp, 'no-intro');
    mkdirSync(join(dir, 'demo'), { recursive: true });
    writeFileSync(join(dir, 'demo', 'main.tf.json'), JSON.stringify(tf));
    expect(() => readmeFor('demo', dir, dir)).toThrow(`${join(dir, 'demo', 'README.intro.md')} is missing`);
  });
});
