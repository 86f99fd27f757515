/**
 * plan-summary's order and its reading of plans, without emulators: the dependency graph from
 * what the real Atmos reports for every deploy stack, the bounded runner, the plan JSON rules.
 * (Real plans against the emulators: local-stack.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  classify,
  guardInput,
  pathText,
  STATEFUL_STORES,
  summarize,
  type ResourceChange,
} from '../../scripts/plan-summary/analyze';
import { atmosEnv, describeStacksArgs } from '../../scripts/lib/atmos';
import { errorText } from '../../scripts/plan-summary';
import { exitCode } from '../../scripts/plan-summary/report';
import { dependencyGraph, reversed, runInOrder, topologicalOrder } from '../../scripts/plan-summary/schedule';
import { REPO_ROOT } from '../support/paths';

type Settings = Record<string, { depends_on?: Record<string, { component?: string }> }>;

function describeSettings(): Record<string, Settings> {
  const r = spawnSync(join(REPO_ROOT, '.tools', 'bin', 'atmos'), describeStacksArgs({ sections: ['settings'] }), {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: atmosEnv(),
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(r.status, r.stderr).toBe(0);
  const stacks = JSON.parse(r.stdout) as Record<
    string,
    { components: { terraform: Record<string, { settings: Settings[string] }> } }
  >;
  return Object.fromEntries(
    Object.entries(stacks).map(([s, v]) => [
      s,
      Object.fromEntries(Object.entries(v.components.terraform).map(([c, x]) => [c, x.settings])),
    ]),
  );
}

describe('dependency order from settings.depends_on (real atmos describe stacks)', () => {
  const stacks = describeSettings();

  it('every deploy stack orders each component after what it depends on; the deploy workflow order agrees', () => {
    expect(Object.keys(stacks).sort()).toEqual(['dev', 'local', 'prod', 'staging']);
    for (const [stack, settings] of Object.entries(stacks)) {
      const graph = dependencyGraph(stack, settings);
      const order = topologicalOrder(graph);
      expect(order.length, stack).toBe(10);
      for (const [c, deps] of graph)
        for (const d of deps) expect(order.indexOf(d), `${stack}: ${d} before ${c}`).toBeLessThan(order.indexOf(c));
      expect(graph.get('lambda-enrichment')).toEqual([
        'dynamodb-lookup',
        'kinesis-ingest',
        'kinesis-output',
        'monitoring',
      ]);
      // destroy order: dependents first
      const back = topologicalOrder(reversed(graph));
      expect(back.indexOf('monitoring')).toBe(9);
    }
  });

  it('refuses a cycle and a dependency on a component the stack does not have, naming them', () => {
    expect(() =>
      dependencyGraph('x', {
        a: { depends_on: { y: { component: 'b' } } },
        b: { depends_on: { y: { component: 'a' } } },
      }),
    ).toThrow('settings.depends_on has a cycle among: a, b');
    expect(() => dependencyGraph('x', { a: { depends_on: { y: { component: 'nope' } } } })).toThrow(
      /a: settings.depends_on names component "nope", which stack x does not have/,
    );
  });
});

describe('runInOrder', () => {
  it('never runs more than `jobs` at once, and starts a component only after its dependencies finished', async () => {
    const graph = new Map([
      ['m', []],
      ['a', ['m']],
      ['b', ['m']],
      ['c', ['m']],
      ['d', ['a', 'b']],
    ]);
    let running = 0;
    let peak = 0;
    const finished: string[] = [];
    const startedAfter = new Map<string, string[]>();
    await runInOrder(graph, 2, async (c) => {
      startedAfter.set(c, [...finished]);
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running -= 1;
      finished.push(c);
      return c;
    });
    expect(peak).toBe(2);
    expect(finished.sort()).toEqual(['a', 'b', 'c', 'd', 'm']);
    for (const [c, deps] of graph) for (const d of deps) expect(startedAfter.get(c), c).toContain(d);
  });
});

describe('reading a plan', () => {
  const rc = (
    type: string,
    actions: string[],
    before: Record<string, unknown> | null,
    extra: Partial<ResourceChange['change']> = {},
  ): ResourceChange => ({
    address: `${type}.x`,
    mode: 'managed',
    type,
    name: 'x',
    change: { actions, before, after: {}, ...extra },
  });

  it('classifies actions, names replace paths, lists every stateful store once', () => {
    expect(
      [['create'], ['update'], ['delete'], ['delete', 'create'], ['create', 'delete'], ['no-op'], ['read']].map(
        classify,
      ),
    ).toEqual(['add', 'change', 'destroy', 'replace', 'replace', undefined, undefined]);
    expect(pathText(['rule', 0, 'expiration'])).toBe('rule[0].expiration');
    expect(Object.keys(STATEFUL_STORES).sort()).toEqual([
      'aws_dynamodb_table',
      'aws_kinesis_stream',
      'aws_opensearch_domain',
      'aws_s3_bucket',
      'aws_sqs_queue',
      'aws_timestreamwrite_database',
      'aws_timestreamwrite_table',
    ]);
  });

  it('a protected DynamoDB table being replaced is refused by AWS; a guard counts only with its stored value', () => {
    const s = summarize({
      format_version: '1.2',
      resource_changes: [
        rc(
          'aws_dynamodb_table',
          ['delete', 'create'],
          { name: 't', deletion_protection_enabled: true },
          { replace_paths: [['hash_key']] },
        ),
        // a guard created protected (no stored value): nothing refuses
        rc('terraform_data', ['create'], null),
        rc('aws_cloudwatch_metric_alarm', ['delete'], { alarm_name: 'a' }),
      ],
    });
    expect(s.counts).toEqual({ add: 1, change: 0, destroy: 1, replace: 1 });
    expect(s.flags.map((f) => [f.kind, f.address, f.forcedBy ?? null])).toEqual([
      ['store', 'aws_dynamodb_table.x', ['hash_key']],
      ['refused', 'aws_dynamodb_table.x', null],
    ]);
    expect(guardInput(rc('terraform_data', ['delete'], { input: { protected: false, what: 'S3 bucket b' } }))).toEqual({
      protected: false,
      what: 'S3 bucket b',
    });
    expect(guardInput(rc('terraform_data', ['delete'], { input: 'not a guard' }))).toBeUndefined();
    expect(() => summarize({ format_version: '2.0' })).toThrow(/unsupported plan JSON format_version "2.0"/);
  });

  it('exit codes: plan errors over flags over clean', () => {
    const clean = {
      component: 'a',
      seconds: 1,
      summary: { counts: { add: 1, change: 0, destroy: 0, replace: 0 }, flags: [] },
    };
    const flagged = {
      component: 'b',
      seconds: 1,
      summary: {
        counts: { add: 0, change: 0, destroy: 1, replace: 0 },
        flags: [{ kind: 'store' as const, address: 'x', action: 'destroy' as const, text: 'x' }],
      },
    };
    expect([
      exitCode([clean]),
      exitCode([clean, flagged]),
      exitCode([flagged, { component: 'c', seconds: 1, error: 'e' }]),
    ]).toEqual([0, 2, 3]);
  });

  it('turns an OpenTofu diagnostic into one line: summary and detail, without source context', () => {
    const out = [
      'Planning failed.',
      '',
      'Error: Invalid value for variable',
      '',
      '  on main.tf.json line 298, in variable:',
      ' 298:     "stream_mode": {',
      '',
      'Invalid value for stream_mode: allowed values are ON_DEMAND, PROVISIONED.',
      '',
      'This was checked by the validation rule at main.tf.json:303,21-22.',
      '',
      '  # Error',
      '',
      'exit status 1',
    ].join('\n');
    expect(errorText(out)).toBe(
      'Invalid value for variable: Invalid value for stream_mode: allowed values are ON_DEMAND, PROVISIONED.',
    );
  });
});
