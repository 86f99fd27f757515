/**
 * pipeline-local: the whole pipeline on one machine (`atmos pipeline-local -s local`,
 * `npm run pipeline:local`). Starts the emulators and an OpenSearch node, deploys the `local`
 * stack into them with the deploy workflow, runs the real data plane (handler bundle under a local
 * event source mapping, the Flink jar on a MiniCluster, the Firehose stand-ins), produces a load,
 * and answers the blueprint's query beside the counts computed from what was produced.
 *
 *   npx tsx scripts/pipeline-local.ts [--rate 50] [--customers 20] [--duration 30] [--malformed 0.02]
 *                                     [--faults none|output-throttling|…] [--keep-logs]
 *
 * Last line: `pipeline-local: events N, documents M, duplicates D, lost L, query exact yes|no`.
 * Exit 0 when the query is exact and nothing was lost or duplicated, 1 otherwise, 2 for bad flags.
 * Everything started is stopped on success, failure, SIGINT and SIGTERM.
 */
import { parseArgs } from 'node:util';
import { FAULT_SCENARIOS, parseFaults } from './pipeline-local/faults';
import { validateLoad } from './pipeline-local/load';
import { Cleanup, runScenario, startPipeline } from './pipeline-local/pipeline';
import { renderReport, summaryLine } from './pipeline-local/report';

const t0 = Date.now();
const log = (line: string) =>
  process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

async function main(): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      options: {
        rate: { type: 'string', default: '50' },
        customers: { type: 'string', default: '20' },
        duration: { type: 'string', default: '30' },
        malformed: { type: 'string', default: '0.02' },
        faults: { type: 'string', default: 'none' },
        'run-id': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`pipeline-local: ${(e as Error).message}\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(
      `usage: pipeline-local [--rate N/s] [--customers N] [--duration s] [--malformed share] [--faults ${FAULT_SCENARIOS.join('|')}]\n`,
    );
    return 0;
  }
  let load, faults;
  try {
    load = {
      rate: Number(flags.rate),
      customers: Number(flags.customers),
      durationSeconds: Number(flags.duration),
      malformed: Number(flags.malformed),
    };
    validateLoad({ runId: 'x', ...load });
    faults = parseFaults(flags.faults!);
  } catch (e) {
    process.stderr.write(`pipeline-local: ${(e as Error).message}\n`);
    return 2;
  }
  const cleanup = new Cleanup();
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping everything started`);
    void cleanup.run(log).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const pipeline = await startPipeline({ log, cleanup });
    const runId = flags['run-id'] ?? `pl${Date.now().toString(36)}`;
    const r = await runScenario(pipeline, { runId, load, faults });
    process.stdout.write(`${renderReport(r)}\n`);
    log(
      `setup: emulators ${pipeline.timings.emulators!.toFixed(0)} s, deploy ${pipeline.timings.deploy!.toFixed(0)} s; total ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    process.stdout.write(`${summaryLine(r)}\n`);
    return r.exact && r.lost === 0 && r.duplicates === 0 ? 0 : 1;
  } catch (e) {
    process.stderr.write(`pipeline-local: ${(e as Error).stack ?? e}\n`);
    process.stdout.write('pipeline-local: failed before the query (see above)\n');
    return 1;
  } finally {
    if (!stopping) await cleanup.run(log);
  }
}

void main().then((code) => process.exit(code));
