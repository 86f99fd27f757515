import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { backoff, type RetryPolicy, type Timing } from './retry';

/** PutRecords limits: 500 entries and 5 MiB (data + partition keys) per call. */
export const PUT_RECORDS_MAX_ENTRIES = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;
export interface OutputEntry {
  /** Caller's handle for the entry (index of the source record). */
  readonly ref: number;
  readonly data: Uint8Array;
  readonly partitionKey: string;
  /** data bytes + UTF-8 bytes of the partition key. */
  readonly size: number;
}

export interface PutOutcome {
  /** refs written, each exactly once, in input order. */
  readonly written: number[];
  /**
   * Set when writing stopped: the lowest entry (position in the input) that could not be
   * written after the retries, and why. Entries from there on that are not in `written` were
   * not attempted or not written; entries after it in `written` (same call) were written.
   */
  readonly stopped?: { readonly index: number; readonly reason: string };
  readonly requests: number;
}

/** Splits entries into PutRecords calls within the entry-count and byte limits, keeping order. */
export function chunkEntries(entries: readonly OutputEntry[]): OutputEntry[][] {
  return cut(entries, false);
}

/**
 * Like {@link chunkEntries}, and a call also ends before a partition key it already holds: one
 * call never carries two records of one customer, so a failed entry can never be overtaken by a
 * later record of its customer inside the same call (PutRecords does not keep order across a
 * failed entry: the entries after it are still written).
 */
export function segmentEntries(entries: readonly OutputEntry[]): OutputEntry[][] {
  return cut(entries, true);
}

function cut(entries: readonly OutputEntry[], distinctKeys: boolean): OutputEntry[][] {
  const chunks: OutputEntry[][] = [];
  let current: OutputEntry[] = [];
  let keys = new Set<string>();
  let bytes = 0;
  for (const e of entries) {
    if (
      current.length > 0 &&
      (current.length === PUT_RECORDS_MAX_ENTRIES ||
        bytes + e.size > PUT_RECORDS_MAX_BYTES ||
        (distinctKeys && keys.has(e.partitionKey)))
    ) {
      chunks.push(current);
      current = [];
      keys = new Set();
      bytes = 0;
    }
    current.push(e);
    keys.add(e.partitionKey);
    bytes += e.size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Writes entries (in input = sequence order) with PutRecords, one call at a time, each call a
 * run of consecutive entries with distinct partition keys ({@link segmentEntries}). Entries the
 * service rejects (ProvisionedThroughputExceeded, InternalFailure) are retried, only those, with
 * backoff, and the next call waits until the current one is fully written: a customer's records
 * keep their order, and what is written is always a prefix of the input plus the call in flight.
 * When an entry is still failing after the retries (or a call fails as a whole after the SDK's
 * retries), writing stops there: nothing after that call is attempted.
 */
export async function putInOrder(
  client: KinesisClient,
  streamName: string,
  entries: readonly OutputEntry[],
  retry: RetryPolicy,
  timing: Timing,
): Promise<PutOutcome> {
  const written: number[] = [];
  const position = new Map(entries.map((e, i) => [e.ref, i]));
  let requests = 0;
  const done = (stopped?: { index: number; reason: string }): PutOutcome => ({
    written: written.sort((a, b) => position.get(a)! - position.get(b)!),
    ...(stopped ? { stopped } : {}),
    requests,
  });
  for (const segment of segmentEntries(entries)) {
    let pending = segment;
    for (let attempt = 1; pending.length > 0; attempt++) {
      requests++;
      let res;
      try {
        res = await client.send(
          new PutRecordsCommand({
            StreamName: streamName,
            Records: pending.map((e) => ({ Data: e.data, PartitionKey: e.partitionKey })),
          }),
        );
      } catch (err) {
        // After the SDK's own retries. A timed-out call may have been written: those records are
        // among the ones the redelivery can duplicate (README, "Duplicates").
        return done({
          index: position.get(pending[0]!.ref)!,
          reason: `${(err as Error).name}: ${(err as Error).message}`,
        });
      }
      const results = res.Records ?? [];
      if (results.length !== pending.length) {
        const reason = `PutRecords returned ${results.length} results for ${pending.length} entries`;
        return done({ index: position.get(pending[0]!.ref)!, reason });
      }
      const failing: OutputEntry[] = [];
      let lastError = '';
      pending.forEach((e, i) => {
        const r = results[i];
        if (r?.ErrorCode === undefined || r.ErrorCode === null) {
          written.push(e.ref);
        } else {
          failing.push(e);
          if (lastError === '') lastError = `${r.ErrorCode}: ${r.ErrorMessage ?? ''}`;
        }
      });
      pending = failing;
      if (pending.length > 0 && !(await backoff(retry, attempt, timing))) {
        return done({ index: position.get(pending[0]!.ref)!, reason: `${lastError} (after ${attempt} attempts)` });
      }
    }
  }
  return done();
}
