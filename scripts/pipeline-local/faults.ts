/**
 * Fault scenarios (`--faults <name>`), each switched on while the load runs and off before the
 * catch-up, so the run then shows that the pipeline recovered without losing or duplicating:
 *
 *   none               no fault
 *   output-throttling  the output stream answers every 2nd PutRecords (handler and Flink sink)
 *                      with ProvisionedThroughputExceededException, for 15 s
 *   lookup-throttling  DynamoDB answers every 2nd BatchGetItem with
 *                      ProvisionedThroughputExceededException, for 15 s
 *   lambda-crash       3 invocations crash (process exit 137) after their first PutRecords:
 *                      part of the batch is written, the mapping retries it (bisect, retries)
 *   flink-tm-failure   after the first completed checkpoint, TaskManager 0 is terminated; the
 *                      job restarts from that checkpoint (restart strategy of the job) on a new one
 *   opensearch-429     the OpenSearch node answers the next 3 _bulk requests with 429 (the
 *                      delivery retries within its retry duration)
 *   dlq-unavailable    the DLQ (SQS SendMessageBatch / SendMessage) resets connections for 8 s
 *
 * The AWS-API faults are rules of the fault proxy (fault-proxy.ts) in front of the emulators.
 */
import { DYNAMODB_THROTTLED, KINESIS_THROTTLED, OPENSEARCH_429, type FaultProxy } from './fault-proxy';
import type { LocalFlink } from './flink';
import type { LambdaHost } from './lambda-host';

export const FAULT_SCENARIOS = [
  'none',
  'output-throttling',
  'lookup-throttling',
  'lambda-crash',
  'flink-tm-failure',
  'opensearch-429',
  'dlq-unavailable',
] as const;
export type FaultScenario = (typeof FAULT_SCENARIOS)[number];

export function parseFaults(value: string): FaultScenario {
  if (!(FAULT_SCENARIOS as readonly string[]).includes(value)) {
    throw new Error(`--faults=${JSON.stringify(value)} is invalid: must be one of ${FAULT_SCENARIOS.join(', ')}`);
  }
  return value as FaultScenario;
}

export interface FaultTargets {
  proxy: FaultProxy;
  searchProxy: FaultProxy;
  host: LambdaHost;
  flink: LocalFlink;
  log: (line: string) => void;
}

/** Switches the scenario's fault on (at once, or after a short delay); returns "switch it off". */
export function applyFaults(scenario: FaultScenario, t: FaultTargets): () => Promise<void> {
  const timers: NodeJS.Timeout[] = [];
  let background: Promise<void> = Promise.resolve();
  let keepSearchRules = false;
  const later = (ms: number, fn: () => void) => timers.push(setTimeout(fn, ms));
  switch (scenario) {
    case 'none':
      break;
    case 'output-throttling':
      later(2_000, () => {
        t.log('fault: output stream throttling on (every 2nd PutRecords, 15 s)');
        t.proxy.add({
          name: 'output PutRecords throttled',
          target: 'Kinesis_20131202.PutRecords',
          every: 2,
          untilMs: Date.now() + 15_000,
          action: KINESIS_THROTTLED,
        });
      });
      break;
    case 'lookup-throttling':
      later(2_000, () => {
        t.log('fault: DynamoDB lookup throttling on (every 2nd BatchGetItem, 15 s)');
        t.proxy.add({
          name: 'lookup BatchGetItem throttled',
          target: 'DynamoDB_20120810.BatchGetItem',
          every: 2,
          untilMs: Date.now() + 15_000,
          action: DYNAMODB_THROTTLED,
        });
      });
      break;
    case 'lambda-crash':
      later(3_000, () => {
        t.log('fault: the next 3 invocations crash after their first PutRecords');
        t.host.crashNext(3, 1);
      });
      break;
    case 'flink-tm-failure':
      background = (async () => {
        const s = await t.flink.waitCheckpoint(0);
        t.log(`fault: checkpoint ${s.completedCheckpoints} completed; terminating TaskManager 0`);
        await t.flink.killTaskManager();
        for (;;) {
          const st = await t.flink.status();
          if (st.restoredCheckpoint >= 0 && st.state === 'RUNNING' && st.tasksRunning === st.tasks) {
            t.log(`fault: job restored from checkpoint ${st.restoredCheckpoint}, running again`);
            return;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      })();
      break;
    case 'opensearch-429':
      // The delivery sends _bulk when its buffer is due (the component's 60 s interval) or at the
      // end-of-run flush, so the fault is by count: the next 3 _bulk requests, whenever they come.
      // It stays on through the flush (runScenario clears the search proxy at the next start).
      t.log('fault: OpenSearch answers the next 3 _bulk requests with 429');
      t.searchProxy.add({ name: 'opensearch _bulk 429', path: /_bulk/, count: 3, action: OPENSEARCH_429 });
      keepSearchRules = true;
      break;
    case 'dlq-unavailable':
      later(1_000, () => {
        t.log('fault: DLQ unavailable (SQS SendMessage* connections reset, 8 s)');
        t.proxy.add({
          name: 'DLQ SendMessageBatch reset',
          target: 'AmazonSQS.SendMessage',
          untilMs: Date.now() + 8_000,
          action: { kind: 'reset' },
        });
      });
      break;
  }
  return async () => {
    for (const x of timers) clearTimeout(x);
    await background;
    t.proxy.clear();
    if (!keepSearchRules) t.searchProxy.clear();
    t.host.crashNext(0, 0);
  };
}
