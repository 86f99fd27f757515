/**
 * Writes a batch's results in sequence order, one range of consecutive records at a time:
 * enriched events to the output stream (PutRecords) and malformed records to the DLQ
 * (SendMessageBatch). Why ranges, in order:
 *
 * - Lambda resumes a Kinesis batch from the lowest reported sequence number and redelivers
 *   everything after it. Writing in order means that, when a record cannot be completed, only
 *   the records of its own range that were already written lie behind the checkpoint and can
 *   come out again: nothing after that range has been attempted.
 * - A range holds each customer at most once, and the next range starts only when the current
 *   one is fully written (its failed entries retried first), so a customer's events keep their
 *   order even when entries fail (PutRecords keeps no order across a failed entry).
 * - The first range of an invocation is its first record alone. A redelivered batch starts at
 *   the record that failed before; if it still fails, it fails alone and the retry writes nothing
 *   else, so redeliveries of a stuck record add no duplicates.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DLQ_MAX_BATCH_BYTES, DLQ_MAX_ENTRIES, dlqEntryBytes, sendToDlq, type DlqEntry } from './dlq';
import { PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_ENTRIES, putInOrder, type OutputEntry } from './output-writer';
import type { RetryPolicy, Timing } from './retry';

export type WriteItem = { readonly kind: 'put'; readonly entry: OutputEntry } | { readonly kind: 'dlq'; readonly entry: DlqEntry };

export interface WriteOutcome {
  readonly written: number[];
  readonly deadLettered: number[];
  /** The lowest record that could not be completed; nothing after its range was attempted. */
  readonly stopped?: { readonly ref: number; readonly reason: string };
  readonly putRequests: number;
  readonly dlqRequests: number;
}

/**
 * Consecutive items: the first alone, then runs of one kind within the PutRecords /
 * SendMessageBatch limits, each customer at most once per run.
 */
export function ranges(items: readonly WriteItem[]): WriteItem[][] {
  const out: WriteItem[][] = [];
  let current: WriteItem[] = [];
  let keys = new Set<string>();
  let putBytes = 0;
  let puts = 0;
  let dlqBytes = 0;
  let dlqs = 0;
  for (const item of items) {
    // A range is all output or all DLQ: a failure of one kind never sits next to written records
    // of the other kind in the same range.
    const full =
      (current.length > 0 && current[0]!.kind !== item.kind) ||
      (item.kind === 'put'
        ? keys.has(item.entry.partitionKey) || puts === PUT_RECORDS_MAX_ENTRIES || putBytes + item.entry.size > PUT_RECORDS_MAX_BYTES
        : dlqs === DLQ_MAX_ENTRIES || dlqBytes + dlqEntryBytes(item.entry) > DLQ_MAX_BATCH_BYTES);
    if (current.length > 0 && (full || out.length === 0)) {
      out.push(current);
      current = [];
      keys = new Set();
      putBytes = puts = dlqBytes = dlqs = 0;
    }
    current.push(item);
    if (item.kind === 'put') {
      keys.add(item.entry.partitionKey);
      puts++;
      putBytes += item.entry.size;
    } else {
      dlqs++;
      dlqBytes += dlqEntryBytes(item.entry);
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

export async function writeInOrder(
  io: { kinesis: () => KinesisClient; streamName: string; sqs: () => SQSClient; queueUrl: string },
  items: readonly WriteItem[],
  retry: { put: RetryPolicy; dlq: RetryPolicy },
  timing: Timing,
): Promise<WriteOutcome> {
  const written: number[] = [];
  const deadLettered: number[] = [];
  let putRequests = 0;
  let dlqRequests = 0;
  for (const range of ranges(items)) {
    const puts = range.flatMap((i) => (i.kind === 'put' ? [i.entry] : []));
    const dlqs = range.flatMap((i) => (i.kind === 'dlq' ? [i.entry] : []));
    const [put, dead] = await Promise.all([
      puts.length > 0 ? putInOrder(io.kinesis(), io.streamName, puts, retry.put, timing) : undefined,
      dlqs.length > 0 ? sendToDlq(io.sqs(), io.queueUrl, dlqs, retry.dlq, timing) : undefined,
    ]);
    written.push(...(put?.written ?? []));
    deadLettered.push(...(dead?.sent ?? []));
    putRequests += put?.requests ?? 0;
    dlqRequests += dead?.requests ?? 0;
    let stopped: { ref: number; reason: string } | undefined;
    if (put?.stopped !== undefined) stopped = { ref: puts[put.stopped.index]!.ref, reason: `put failed: ${put.stopped.reason}` };
    for (const [ref, reason] of dead?.failed ?? []) {
      if (stopped === undefined || ref < stopped.ref) stopped = { ref, reason: `DLQ send failed: ${reason}` };
    }
    if (stopped !== undefined) return { written, deadLettered, stopped, putRequests, dlqRequests };
  }
  return { written, deadLettered, putRequests, dlqRequests };
}
