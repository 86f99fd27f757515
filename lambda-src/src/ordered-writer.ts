/**
 * Writes a batch's results in sequence order: enriched events to the output stream (PutRecords)
 * and malformed records to the DLQ (SendMessageBatch), one call at a time.
 *
 * - Order per customer: a record is sent only when every earlier record of its customer is
 *   written, and a call never holds a customer twice (PutRecords keeps no order across a failed
 *   entry: later entries are still written). Failed entries are retried, only those, with
 *   backoff, before the next call.
 * - Few calls: a call takes, from the lowest pending record on, every record whose customer is
 *   free (skipping the ones that wait for an earlier event of their customer), up to the
 *   PutRecords limits and at most {@link LOOKAHEAD} records past the first skipped one. A batch
 *   then needs about as many calls as its busiest customer has events, the least any ordering
 *   scheme with PutRecords can do.
 * - Little to redeliver: Lambda resumes from the lowest reported record and redelivers what
 *   follows. When a record cannot be completed, only records below it are still attempted; the
 *   lowest record not done is the checkpoint. What lies past it and was written is bounded: the
 *   other entries of the calls made while it was pending, each call reaching at most
 *   LOOKAHEAD records past a waiting record (README "Duplicates").
 * - A redelivered batch starts at the record that failed before: the first record of a batch
 *   always goes alone, so if it still fails, nothing else is written again.
 * - Output calls never pass a pending DLQ record, and DLQ calls hold only consecutive malformed
 *   records: a DLQ outage leaves no output record past it.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DLQ_MAX_BATCH_BYTES, DLQ_MAX_ENTRIES, dlqEntryBytes, sendToDlq, type DlqEntry } from './dlq';
import { PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_ENTRIES, putInOrder, type OutputEntry } from './output-writer';
import type { RetryPolicy, Timing } from './retry';

/** How far a call may reach past the first record that waits for an earlier event of its customer. */
export const LOOKAHEAD = 64;

export type WriteItem =
  | { readonly kind: 'put'; readonly entry: OutputEntry }
  | { readonly kind: 'dlq'; readonly entry: DlqEntry };

export interface WriteOutcome {
  readonly written: number[];
  readonly deadLettered: number[];
  /** The lowest record not completed (the checkpoint), and why writing stopped. */
  readonly stopped?: { readonly ref: number; readonly reason: string };
  readonly putRequests: number;
  readonly dlqRequests: number;
}

/**
 * The next call: positions (into `items`) of the records it carries, all of one kind, from the
 * lowest pending record `low`, below `limit`.
 */
export function nextCall(
  items: readonly WriteItem[],
  done: readonly boolean[],
  low: number,
  limit: number,
  first: boolean,
): number[] {
  if (first) return [low];
  if (items[low]!.kind === 'dlq') {
    const call: number[] = [];
    let bytes = 0;
    for (let i = low; i < limit && items[i]!.kind === 'dlq' && !done[i]; i++) {
      const b = dlqEntryBytes(items[i]!.entry as DlqEntry);
      if (call.length === DLQ_MAX_ENTRIES || (call.length > 0 && bytes + b > DLQ_MAX_BATCH_BYTES)) break;
      call.push(i);
      bytes += b;
    }
    return call;
  }
  const call: number[] = [];
  const taken = new Set<string>();
  const waiting = new Set<string>();
  let firstWaiting = -1;
  let bytes = 0;
  for (let i = low; i < limit && call.length < PUT_RECORDS_MAX_ENTRIES; i++) {
    if (firstWaiting >= 0 && i >= firstWaiting + LOOKAHEAD) break;
    if (done[i]) continue;
    const item = items[i]!;
    if (item.kind === 'dlq') break; // never write output past a pending DLQ record
    const key = item.entry.partitionKey;
    if (taken.has(key) || waiting.has(key)) {
      waiting.add(key);
      if (firstWaiting < 0) firstWaiting = i;
      continue;
    }
    if (call.length > 0 && bytes + item.entry.size > PUT_RECORDS_MAX_BYTES) break;
    taken.add(key);
    call.push(i);
    bytes += item.entry.size;
  }
  return call;
}

export async function writeInOrder(
  io: { kinesis: () => KinesisClient; streamName: string; sqs: () => SQSClient; queueUrl: string },
  items: readonly WriteItem[],
  retry: { put: RetryPolicy; dlq: RetryPolicy },
  timing: Timing,
): Promise<WriteOutcome> {
  const written: number[] = [];
  const deadLettered: number[] = [];
  const done = items.map(() => false);
  let putRequests = 0;
  let dlqRequests = 0;
  let low = 0;
  let limit = items.length; // records at or past a record that failed for good are not attempted
  let reason = '';
  for (let first = true; ; first = false) {
    while (low < limit && done[low]) low++;
    if (low >= limit) break;
    const call = nextCall(items, done, low, limit, first);
    let failedAt: number | undefined;
    if (items[call[0]!]!.kind === 'put') {
      const entries = call.map((i) => items[i]!.entry as OutputEntry);
      const put = await putInOrder(io.kinesis(), io.streamName, entries, retry.put, timing);
      putRequests += put.requests;
      const ok = new Set(put.written);
      call.forEach((i, k) => {
        if (ok.has(entries[k]!.ref)) done[i] = true;
      });
      written.push(...put.written);
      if (put.stopped !== undefined) {
        failedAt = call[put.stopped.index]!;
        reason = `put failed: ${put.stopped.reason}`;
      }
    } else {
      const entries = call.map((i) => items[i]!.entry as DlqEntry);
      const dead = await sendToDlq(io.sqs(), io.queueUrl, entries, retry.dlq, timing);
      dlqRequests += dead.requests;
      const ok = new Set(dead.sent);
      call.forEach((i, k) => {
        if (ok.has(entries[k]!.ref)) done[i] = true;
      });
      deadLettered.push(...dead.sent);
      for (const [ref, why] of dead.failed) {
        const at = call.find((i) => items[i]!.entry.ref === ref)!;
        if (failedAt === undefined || at < failedAt) {
          failedAt = at;
          reason = `DLQ send failed: ${why}`;
        }
      }
    }
    if (failedAt !== undefined) limit = Math.min(limit, failedAt);
  }
  const byRef = (a: number, b: number) => a - b;
  written.sort(byRef);
  deadLettered.sort(byRef);
  const checkpoint = done.findIndex((d) => !d);
  if (checkpoint === -1) return { written, deadLettered, putRequests, dlqRequests };
  const ref = items[checkpoint]!.entry.ref;
  return { written, deadLettered, stopped: { ref, reason: reason || 'not attempted' }, putRequests, dlqRequests };
}
