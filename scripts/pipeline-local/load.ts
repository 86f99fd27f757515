/**
 * The load generator: raw events (flink/README.md / lambda-src/README.md record shape) put into
 * the ingest stream at a steady rate, with deterministic ids (`<run>-<n>`), customers
 * `<run>-c<k>` (each with a profile in the lookup table, except every 10th: an unknown customer is
 * not an error), and a share of malformed records (not JSON) that must end in the DLQ.
 * Every produced record is remembered, so the expected answer is computed from what was
 * produced, not from what any stage reports.
 */
import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

export interface LoadOptions {
  readonly runId: string;
  /** events per second, 1-5000 */
  readonly rate: number;
  /** distinct customers, 1-10000 */
  readonly customers: number;
  /** seconds, 1-240 (the blueprint query looks 5 minutes back) */
  readonly durationSeconds: number;
  /** share of malformed records, 0-0.5 */
  readonly malformed: number;
}

export interface Produced {
  readonly eventId: string;
  readonly customerId: string;
  /** ms since epoch, the event's `timestamp` */
  readonly ts: number;
  /** when PutRecords for it returned, ms */
  producedAt: number;
}

export interface LoadResult {
  readonly events: Produced[];
  readonly malformed: { readonly text: string; readonly partitionKey: string }[];
  readonly putRecordsRetries: number;
  /** PutRecords calls made and the time spent awaiting them (the producer's own ceiling: calls are sequential) */
  readonly putRecordsCalls: number;
  readonly putRecordsMillis: number;
  readonly seconds: number;
}

export const customerId = (runId: string, k: number) => `${runId}-c${k}`;
export const hasProfile = (k: number) => k % 10 !== 9;

/** Profiles for the run's customers (every 10th left out: "unknown customer"). */
export async function seedProfiles(
  ddb: DynamoDBClient,
  table: string,
  runId: string,
  customers: number,
): Promise<void> {
  const items = Array.from({ length: customers }, (_, k) => k).filter(hasProfile);
  for (let i = 0; i < items.length; i += 25) {
    let req: Record<string, { PutRequest: { Item: Record<string, { S: string } | { N: string }> } }[]> = {
      [table]: items.slice(i, i + 25).map((k) => ({
        PutRequest: {
          Item: {
            pk: { S: customerId(runId, k) },
            name: { S: `Customer ${k}` },
            tier: { S: ['gold', 'silver', 'bronze'][k % 3]! },
            since: { N: String(2000 + (k % 25)) },
          },
        },
      })),
    };
    for (let attempt = 0; Object.keys(req).length > 0; attempt++) {
      if (attempt > 10) throw new Error('seeding profiles: BatchWriteItem kept returning UnprocessedItems');
      const r = await ddb.send(new BatchWriteItemCommand({ RequestItems: req }));
      req = (r.UnprocessedItems ?? {}) as typeof req;
    }
  }
}

export function validateLoad(o: LoadOptions): void {
  const check = (name: string, v: number, min: number, max: number, integer = true) => {
    if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      throw new Error(
        `--${name}=${v} is invalid: must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`,
      );
    }
  };
  check('rate', o.rate, 1, 5000);
  check('customers', o.customers, 1, 10000);
  check('duration', o.durationSeconds, 1, 240);
  check('malformed', o.malformed, 0, 0.5, false);
}

/**
 * Produces the load: every 100 ms the events due by then, in PutRecords calls of ≤ 500, records
 * the stream refused (throttling) retried until accepted. Event time = the moment it is made.
 */
export async function produce(
  kinesis: KinesisClient,
  streamName: string,
  o: LoadOptions,
  onTick: (produced: number) => void,
): Promise<LoadResult> {
  validateLoad(o);
  const events: Produced[] = [];
  const malformed: { text: string; partitionKey: string }[] = [];
  const total = Math.round(o.rate * o.durationSeconds);
  const malformedEvery = o.malformed > 0 ? Math.max(1, Math.round(1 / o.malformed)) : 0;
  const start = Date.now();
  let n = 0;
  let retries = 0;
  let calls = 0;
  let callMillis = 0;
  while (n < total) {
    const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * o.rate) + 1);
    const batch: { entry: { Data: Uint8Array; PartitionKey: string }; ev?: Produced }[] = [];
    for (; n < due; n++) {
      const k = n % o.customers;
      const cust = customerId(o.runId, k);
      if (malformedEvery > 0 && n % malformedEvery === malformedEvery - 1) {
        const text = `not json: ${o.runId}-${n} {`;
        malformed.push({ text, partitionKey: cust });
        batch.push({ entry: { Data: Buffer.from(text), PartitionKey: cust } });
        continue;
      }
      const ts = Date.now();
      const ev: Produced = { eventId: `${o.runId}-${n}`, customerId: cust, ts, producedAt: 0 };
      const body = JSON.stringify({
        event_id: ev.eventId,
        customer_id: cust,
        event_type: ['click', 'view', 'purchase'][n % 3],
        timestamp: new Date(ts).toISOString(),
        payload: { n, amount: 1.1 * (n % 7), tags: ['pipeline-local'] },
      });
      batch.push({ entry: { Data: Buffer.from(body), PartitionKey: cust }, ev });
    }
    for (let i = 0; i < batch.length; i += 500) {
      let pending = batch.slice(i, i + 500);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) {
          retries += pending.length;
          await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
        }
        let res;
        const sent = Date.now();
        calls++;
        try {
          res = await kinesis.send(
            new PutRecordsCommand({ StreamName: streamName, Records: pending.map((p) => p.entry) }),
          );
        } catch (e) {
          if (attempt > 30) throw e;
          continue;
        } finally {
          callMillis += Date.now() - sent;
        }
        const now = Date.now();
        const failed: typeof pending = [];
        (res.Records ?? []).forEach((r, j) => {
          if (r.ErrorCode) failed.push(pending[j]!);
          else if (pending[j]!.ev) {
            pending[j]!.ev!.producedAt = now;
            events.push(pending[j]!.ev!);
          }
        });
        pending = failed;
      }
    }
    onTick(n);
    const next = start + ((n + 1) / o.rate) * 1000;
    const wait = Math.max(0, Math.min(100, next - Date.now()));
    if (n < total) await new Promise((r) => setTimeout(r, wait));
  }
  return {
    events,
    malformed,
    putRecordsRetries: retries,
    putRecordsCalls: calls,
    putRecordsMillis: callMillis,
    seconds: (Date.now() - start) / 1000,
  };
}

/** The aggregates the job must emit for these events: one per customer and window. */
export function expectedAggregates(
  events: readonly Produced[],
  windowMinutes: number,
): Map<string, { customerId: string; windowStart: number; windowEnd: number; count: number }> {
  const size = windowMinutes * 60_000;
  const out = new Map<string, { customerId: string; windowStart: number; windowEnd: number; count: number }>();
  for (const e of events) {
    const ws = Math.floor(e.ts / size) * size;
    const key = `${e.customerId}#${ws}`;
    const a = out.get(key) ?? { customerId: e.customerId, windowStart: ws, windowEnd: ws + size, count: 0 };
    a.count++;
    out.set(key, a);
  }
  return out;
}
