/** The end-of-run report: the query's buckets beside the independent answer, counters, the summary line. */
import type { ScenarioResult } from './pipeline';

const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);

export function summaryLine(
  r: Pick<ScenarioResult, 'eventsIn' | 'documents' | 'duplicates' | 'lost' | 'exact'>,
): string {
  return `pipeline-local: events ${r.eventsIn}, documents ${r.documents}, duplicates ${r.duplicates}, lost ${r.lost}, query exact ${r.exact ? 'yes' : 'no'}`;
}

export function renderReport(r: ScenarioResult): string {
  const out: string[] = [];
  out.push('');
  out.push(
    `blueprint query (GET events-*/_search, range timestamp gte now-5m, events_per_minute 1m), sent ${new Date(r.query.sentAt).toISOString()}:`,
  );
  const keys = [
    ...new Set([
      ...r.query.buckets.filter((b) => b.count > 0).map((b) => b.key),
      ...r.expectedBuckets.map((b) => b.key),
    ]),
  ].sort((a, b) => a - b);
  const max = Math.max(1, ...r.query.buckets.map((b) => b.count));
  out.push('  minute  query  expected (events + aggregates)  chart');
  for (const k of keys) {
    const got = r.query.buckets.find((b) => b.key === k)?.count ?? 0;
    const e = r.expectedBuckets.find((b) => b.key === k) ?? { events: 0, aggregates: 0 };
    const want = e.events + e.aggregates;
    const bar = '█'.repeat(Math.round((got / max) * 40));
    out.push(
      `${`  ${hhmm(k)}   ${String(got).padStart(5)}  ${String(want).padStart(5)} (${e.events} + ${e.aggregates})${got === want ? '' : '  ← differs'}`.padEnd(
        52,
      )}  ${bar}`,
    );
  }
  out.push(
    `  hits.total ${r.query.total}, expected ${r.expectedBuckets.reduce((s, b) => s + b.events + b.aggregates, 0)}`,
  );
  out.push('');
  out.push('per stage:');
  for (const [stage, c] of Object.entries(r.counters)) {
    out.push(
      `  ${stage.padEnd(22)} ${Object.entries(c)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  }
  if (Object.keys(r.injected).length > 0)
    out.push(
      `  faults injected        ${Object.entries(r.injected)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}`,
    );
  out.push(
    `  malformed              ${r.malformed} produced, ${r.malformedInDlq} in the DLQ with their original data (replayable), not counted as lost`,
  );
  out.push('');
  out.push(
    `throughput: ${r.eventsPerSecond.toFixed(0)} events/s produced and delivered end to end; producer→searchable latency p50 ${(r.latencyMs.p50 / 1000).toFixed(1)} s, p99 ${(r.latencyMs.p99 / 1000).toFixed(1)} s (${r.latencyMs.samples} sampled events; the OpenSearch delivery buffers up to ${r.latencyMs.bufferSeconds} s, the index refreshes every 10 s, and the end-of-run flush cuts the last buffer short)`,
  );
  out.push(
    `time: load ${r.seconds.load.toFixed(0)} s, catch-up ${r.seconds.catchUp.toFixed(0)} s, flink drain ${r.seconds.flinkStop.toFixed(0)} s, delivery flush ${r.seconds.flush.toFixed(0)} s, scenario ${r.seconds.total.toFixed(0)} s`,
  );
  if (r.lostIds.length) out.push(`lost (first ${r.lostIds.length}): ${r.lostIds.join(' ')}`);
  if (r.duplicateIds.length)
    out.push(`duplicate/stray documents (first ${r.duplicateIds.length}): ${r.duplicateIds.join(' ')}`);
  if (r.wrongAggregates.length) out.push(`aggregates with a wrong count: ${r.wrongAggregates.join('; ')}`);
  return out.join('\n');
}
