import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { backoff, mapLimit, type RetryPolicy, type Timing } from './retry';

/** PutRecords limits: 500 entries and 5 MiB (data + partition keys) per call. */
export const PUT_RECORDS_MAX_ENTRIES = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;
/**
 * PutRecords calls in flight at once. One: chunks go out in order, so records of one customer
 * (one partition key) keep their order in the output stream unless a retry intervenes. The event
 * source mapping already runs one invocation per shard (times its ParallelizationFactor).
 */
const PUT_CONCURRENCY = 1;

export interface OutputEntry {
  /** Caller's handle for the entry (index of the source record). */
  readonly ref: number;
  readonly data: Uint8Array;
  readonly partitionKey: string;
  /** data bytes + UTF-8 bytes of the partition key. */
  readonly size: number;
}

export interface PutOutcome {
  /** refs written, each exactly once. */
  readonly written: number[];
  /** ref → last error, for entries that could not be written. */
  readonly failed: Map<number, string>;
  readonly requests: number;
}

/** Splits entries into PutRecords calls within the entry-count and byte limits, keeping order. */
export function chunkEntries(entries: readonly OutputEntry[]): OutputEntry[][] {
  const chunks: OutputEntry[][] = [];
  let current: OutputEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (current.length > 0 && (current.length === PUT_RECORDS_MAX_ENTRIES || bytes + e.size > PUT_RECORDS_MAX_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(e);
    bytes += e.size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Writes entries with PutRecords. Entries the service rejects individually
 * (ProvisionedThroughputExceeded, InternalFailure) are retried — only those — with backoff;
 * a call that fails as a whole (after the SDK's own retries) fails all its entries.
 */
export async function putAll(
  client: KinesisClient,
  streamName: string,
  entries: readonly OutputEntry[],
  retry: RetryPolicy,
  timing: Timing,
): Promise<PutOutcome> {
  const written: number[] = [];
  const failed = new Map<number, string>();
  let requests = 0;
  let pending: OutputEntry[] = [...entries];
  for (let attempt = 1; pending.length > 0; attempt++) {
    const retryable: OutputEntry[] = [];
    const lastError = new Map<number, string>();
    await mapLimit(chunkEntries(pending), PUT_CONCURRENCY, async (chunk) => {
      requests++;
      let res;
      try {
        res = await client.send(
          new PutRecordsCommand({
            StreamName: streamName,
            Records: chunk.map((e) => ({ Data: e.data, PartitionKey: e.partitionKey })),
          }),
        );
      } catch (err) {
        const reason = `${(err as Error).name}: ${(err as Error).message}`;
        for (const e of chunk) failed.set(e.ref, reason);
        return;
      }
      const results = res.Records ?? [];
      if (results.length !== chunk.length) {
        // Cannot tell which entries landed; retrying could duplicate, so report them all.
        for (const e of chunk) failed.set(e.ref, `PutRecords returned ${results.length} results for ${chunk.length} entries`);
        return;
      }
      chunk.forEach((e, i) => {
        const r = results[i];
        if (r?.ErrorCode === undefined || r.ErrorCode === null) {
          written.push(e.ref);
        } else {
          retryable.push(e);
          lastError.set(e.ref, `${r.ErrorCode}: ${r.ErrorMessage ?? ''}`);
        }
      });
    });
    pending = retryable.sort((a, b) => a.ref - b.ref);
    if (pending.length > 0 && !(await backoff(retry, attempt, timing))) {
      for (const e of pending) failed.set(e.ref, `${lastError.get(e.ref) ?? 'failed'} (after ${attempt} attempts)`);
      pending = [];
    }
  }
  return { written, failed, requests };
}
