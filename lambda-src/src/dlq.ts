import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { backoff, type RetryPolicy, type Timing } from './retry';

/** SendMessageBatch limits: 10 messages and 256 KiB in total per call. */
export const DLQ_MAX_ENTRIES = 10;
export const DLQ_MAX_BATCH_BYTES = 256 * 1024;
const SQS_MAX_ENTRIES = DLQ_MAX_ENTRIES;
const SQS_MAX_BATCH_BYTES = DLQ_MAX_BATCH_BYTES;

/** Bytes one entry counts against the SendMessageBatch limit (body + attribute allowance). */
export const dlqEntryBytes = (e: DlqEntry): number => Buffer.byteLength(e.body) + 64;

export interface DlqEntry {
  readonly ref: number;
  readonly reason: string;
  readonly body: string;
}

export interface DlqOutcome {
  readonly sent: number[];
  readonly failed: Map<number, string>;
  readonly requests: number;
}

function chunk(entries: readonly DlqEntry[]): DlqEntry[][] {
  const chunks: DlqEntry[][] = [];
  let current: DlqEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = dlqEntryBytes(e);
    if (current.length > 0 && (current.length === SQS_MAX_ENTRIES || bytes + size > SQS_MAX_BATCH_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(e);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Sends malformed records to the DLQ with SendMessageBatch, one call at a time in input order.
 * Entries SQS rejects for its own reasons (SenderFault false) are retried with backoff; sender
 * faults and whole-call errors (after the SDK's retries) are final. At the first final failure
 * the remaining calls are not made: everything from the lowest failed record on is redelivered,
 * so sending later records now would only duplicate their messages.
 */
export async function sendToDlq(
  client: SQSClient,
  queueUrl: string,
  entries: readonly DlqEntry[],
  retry: RetryPolicy,
  timing: Timing,
): Promise<DlqOutcome> {
  const sent: number[] = [];
  const failed = new Map<number, string>();
  let requests = 0;
  for (const batch of chunk(entries)) {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      requests++;
      let res;
      try {
        res = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: pending.map((e) => ({
              Id: `r${e.ref}`,
              MessageBody: e.body,
              MessageAttributes: { reason: { DataType: 'String', StringValue: e.reason } },
            })),
          }),
        );
      } catch (err) {
        const reason = `${(err as Error).name}: ${(err as Error).message}`;
        for (const e of pending) failed.set(e.ref, reason);
        return { sent, failed, requests };
      }
      const byId = new Map(pending.map((e) => [`r${e.ref}`, e]));
      const retryable: DlqEntry[] = [];
      let lastError = '';
      for (const ok of res.Successful ?? []) {
        const e = ok.Id === undefined ? undefined : byId.get(ok.Id);
        if (e !== undefined) {
          sent.push(e.ref);
          byId.delete(ok.Id as string);
        }
      }
      for (const bad of res.Failed ?? []) {
        const e = bad.Id === undefined ? undefined : byId.get(bad.Id);
        if (e === undefined) continue;
        byId.delete(bad.Id as string);
        const reason = `${bad.Code ?? 'Failed'}: ${bad.Message ?? ''}`;
        if (bad.SenderFault === true) {
          failed.set(e.ref, reason);
        } else {
          retryable.push(e);
          lastError = reason;
        }
      }
      // Neither successful nor failed: SQS did not say, so do not claim it was delivered.
      for (const e of byId.values()) failed.set(e.ref, 'SendMessageBatch returned no result for the entry');
      pending = retryable.sort((a, b) => a.ref - b.ref);
      if (pending.length > 0 && !(await backoff(retry, attempt, timing))) {
        for (const e of pending) failed.set(e.ref, `${lastError || 'failed'} (after ${attempt} attempts)`);
        pending = [];
      }
    }
    if (failed.size > 0) return { sent, failed, requests };
  }
  return { sent, failed, requests };
}
