/**
 * Both Firehose delivery streams, played by the Firehose stand-in (local-aws/firehose-delivery.ts),
 * each configured from its DescribeDeliveryStream description:
 *   archive  (firehose-s3)          ingest stream ─► S3 archive bucket in moto (GZIP, the component's prefixes)
 *   search   (firehose-opensearch)  output stream ─► OpenSearch node (events-YYYY-MM-DD), failed docs ─► S3 backup
 */
import { FirehoseDelivery, type FirehoseEvent } from '../../local-aws/firehose-delivery';
import type { Deployed } from './control-plane';
import type { Pipeline } from './pipeline';

export interface Deliveries {
  start(): Promise<void>;
  flush(): Promise<void>;
  stop(): Promise<void>;
  /** Raw counters of both stand-ins (for the before/after difference of a scenario). */
  stats(): Record<string, Record<string, number>>;
  counters(before: Record<string, Record<string, number>>): Record<string, Record<string, number>>;
}

export async function createDeliveries(opts: {
  deployed: Deployed;
  vars: Record<string, Record<string, unknown>>;
  label: (name: string) => string;
  clients: Pipeline['clients'];
  searchEndpoint: string;
  log: (line: string) => void;
}): Promise<Deliveries> {
  const onEvent = (name: string) => (e: FirehoseEvent) => {
    if (e.type === 'read-error' || e.type === 'delivery-error' || e.type === 'backup')
      opts.log(`${name}: ${JSON.stringify(e)}`);
  };
  const archive = new FirehoseDelivery({
    description: opts.deployed.archiveDelivery,
    kinesis: opts.clients.kinesis,
    s3: opts.clients.s3,
    onEvent: onEvent('firehose-s3'),
  });
  const search = new FirehoseDelivery({
    description: opts.deployed.searchDelivery,
    kinesis: opts.clients.kinesis,
    s3: opts.clients.s3,
    opensearchEndpoint: opts.searchEndpoint,
    onEvent: onEvent('firehose-opensearch'),
  });
  const numeric = (o: unknown) =>
    Object.fromEntries(
      Object.entries((o ?? {}) as Record<string, unknown>).filter(([, v]) => typeof v === 'number'),
    ) as Record<string, number>;
  const stats = () => ({ 'firehose-s3': numeric(archive.stats), 'firehose-opensearch': numeric(search.stats) });
  return {
    async start() {
      await archive.init();
      await search.init();
      archive.start();
      search.start();
    },
    async flush() {
      await Promise.all([archive.flush(), search.flush()]);
    },
    async stop() {
      await Promise.all([archive.stop(), search.stop()]);
    },
    stats,
    counters(before) {
      const now = stats();
      return Object.fromEntries(
        Object.entries(now).map(([k, v]) => [
          k,
          Object.fromEntries(Object.entries(v).map(([c, n]): [string, number] => [c, n - (before[k]?.[c] ?? 0)])),
        ]),
      );
    },
  };
}
