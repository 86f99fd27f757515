/**
 * The metric catalogue (components/shared/metrics.ts) is the one declaration of every metric the
 * pipeline alarms on or charts: every alarm of every synthesized component, and every line of the
 * monitoring dashboard as OpenTofu evaluates it, is a catalogue metric with exactly its dimension
 * names (and, for alarms, its statistic); and every catalogue metric is used by one of them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CATALOGUE, type MetricDefinition } from '../../components/shared/metrics';
import { synthesizedComponents } from '../support/components';
import { alarmsOf, readComponent } from '../support/synth';
import { tofuWorkspace } from '../support/tofu';

/** Any property read returns a placeholder: enough to learn a definition's dimension names. */
const anyResource = new Proxy({}, { get: (_target, property) => `<${String(property)}>` });

interface Entry {
  readonly name: string;
  readonly statistic: string;
  readonly dimensionNames: string[];
}
/** namespace/metricName → the catalogue entry. */
const catalogue = new Map<string, Entry>();
for (const [section, metrics] of Object.entries(CATALOGUE)) {
  for (const [key, definition] of Object.entries(metrics) as [string, MetricDefinition<never>][]) {
    const id = `${definition.namespace}/${definition.metricName}`;
    expect(catalogue.has(id), `${id} is declared twice`).toBe(false);
    catalogue.set(id, {
      name: `${section}.${key}`,
      statistic: definition.statistic,
      dimensionNames: Object.keys(definition.dimensions(anyResource as never)).sort(),
    });
  }
}
const used = new Set<string>();

function check(where: string, namespace: string, metricName: string, dimensionNames: string[]): Entry {
  const entry = catalogue.get(`${namespace}/${metricName}`);
  expect(entry, `${where}: ${namespace}/${metricName} is not in the metric catalogue`).toBeDefined();
  expect([...dimensionNames].sort(), `${where}: dimensions of ${entry!.name}`).toEqual(entry!.dimensionNames);
  used.add(entry!.name);
  return entry!;
}

describe('alarms', () => {
  it.each(synthesizedComponents())('%s: every alarm metric is a catalogue metric', (component) => {
    for (const [id, alarm] of Object.entries(alarmsOf(readComponent(component)))) {
      const where = `${component} ${id}`;
      if (alarm.metric_name !== undefined) {
        const entry = check(
          where,
          alarm.namespace as string,
          alarm.metric_name as string,
          Object.keys(alarm.dimensions as object),
        );
        expect(alarm.statistic ?? alarm.extended_statistic, `${where}: statistic`).toBe(entry.statistic);
        continue;
      }
      const queries = alarm.metric_query as { metric?: Record<string, unknown> }[];
      const metrics = queries.flatMap((q) => (q.metric ? [q.metric] : []));
      expect(metrics.length, `${where}: a math alarm without metrics`).toBeGreaterThan(0);
      for (const m of metrics) {
        const entry = check(where, m.namespace as string, m.metric_name as string, Object.keys(m.dimensions as object));
        expect(m.stat, `${where}: stat`).toBe(entry.statistic);
      }
    }
  });
});

describe('dashboard', () => {
  const tf = readComponent('monitoring');
  const workspace = tofuWorkspace({
    variable: tf.variable,
    locals: tf.locals,
    output: { dashboard_body: { value: '${local.dashboard_body}' } },
  });
  const scratch = mkdtempSync(join(tmpdir(), 'catalogue-'));
  afterAll(() => {
    workspace.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('every dashboard line is a catalogue metric; every catalogue metric is alarmed on or charted', () => {
    const names = ['ingest_stream_name', 'output_stream_name', 'enrichment_function_name', 'dlq_name'];
    const more = ['failures_queue_name', 'flink_application_name', 'archive_delivery_stream_name'];
    const vars: Record<string, unknown> = { namespace: 'acme', environment: 'ue1', stage: 'dev', region: 'us-east-1' };
    for (const name of [...names, ...more, 'search_delivery_stream_name']) vars[name] = name.replaceAll('_', '-');
    vars.efo_consumer_names = ['analytics-efo'];
    const varFile = join(scratch, 'vars.tfvars.json');
    writeFileSync(varFile, JSON.stringify(vars));
    const body = JSON.parse(workspace.outputs(varFile).dashboard_body as string) as {
      widgets: { properties: { title: string; metrics: unknown[][] } }[];
    };
    let lines = 0;
    for (const widget of body.widgets) {
      for (const line of widget.properties.metrics) {
        if (typeof line[0] !== 'string') continue; // a metric-math expression line
        const [namespace, metricName, ...rest] = line as [string, string, ...unknown[]];
        const pairs = rest.filter((x): x is string => typeof x === 'string');
        check(
          widget.properties.title,
          namespace,
          metricName,
          pairs.filter((_, i) => i % 2 === 0),
        );
        lines++;
      }
    }
    expect(lines).toBe(22);
    // The alarms' describe block ran first (vitest runs a file's tests in order).
    expect([...catalogue.values()].map((e) => e.name).filter((n) => !used.has(n))).toEqual([]);
  });
});
