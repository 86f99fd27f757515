import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { EnrichmentConfig } from './config';
import type { LookupBackend } from './dynamodb-backend';
import { writeInOrder, type WriteItem } from './ordered-writer';
import { ProfileLookup } from './profile-lookup';
import { dlqBody, enrichText, parseRecord } from './records';
import {
  DEFAULT_DLQ_RETRY,
  DEFAULT_LOOKUP_RETRY,
  DEFAULT_PUT_RETRY,
  realTiming,
  type RetryPolicy,
  type Timing,
} from './retry';

export interface ProcessorDeps {
  readonly config: EnrichmentConfig;
  readonly backend: LookupBackend;
  readonly kinesis: () => KinesisClient;
  readonly sqs: () => SQSClient;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly retry?: { lookup?: RetryPolicy; put?: RetryPolicy; dlq?: RetryPolicy };
  /** Sleep/jitter/deadline source; defaults to real timers and the Lambda context deadline. */
  readonly timing?: (context: Context | undefined) => Timing;
  /** Clock for the cache TTL. */
  readonly now?: () => number;
}

/**
 * What happened to the records of one batch. Records before the checkpoint are each emitted or
 * dead-lettered exactly once; from the checkpoint on, the event source mapping redelivers.
 */
export interface BatchSummary {
  readonly records: number;
  readonly emitted: number;
  readonly deadLettered: number;
  /** Records from the checkpoint on that this invocation did not complete (0 = batch done). */
  readonly failed: number;
  /** Records the event source mapping will deliver again (from the reported record on). */
  readonly redelivered: number;
  /** Of those, records already emitted or dead-lettered: they come out twice (same event_id). */
  readonly duplicatesOnRedelivery: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly lookupRequests: number;
  readonly putRequests: number;
}

export interface Processor {
  (event: KinesisStreamEvent, context?: Context): Promise<KinesisStreamBatchResponse>;
  readonly lookup: ProfileLookup;
  /** Summary of the last batch (for tests and the benchmark). */
  readonly lastSummary: () => BatchSummary | undefined;
}

export function createProcessor(deps: ProcessorDeps): Processor {
  const { config, logger, metrics } = deps;
  const retryLookup = deps.retry?.lookup ?? DEFAULT_LOOKUP_RETRY;
  const retryPut = deps.retry?.put ?? DEFAULT_PUT_RETRY;
  const retryDlq = deps.retry?.dlq ?? DEFAULT_DLQ_RETRY;
  const timingFor =
    deps.timing ??
    ((context: Context | undefined) => realTiming(context ? () => context.getRemainingTimeInMillis() : undefined));
  // The timing of the current invocation; the lookup reads it through this indirection.
  let timing: Timing = timingFor(undefined);
  const lookup = new ProfileLookup(
    deps.backend,
    config.cacheMaxEntries,
    config.cacheTtlSeconds,
    retryLookup,
    { sleep: (ms) => timing.sleep(ms), random: () => timing.random(), remainingMs: () => timing.remainingMs() },
    deps.now,
    config.cacheMaxBytes,
  );
  let coldStart = true;
  let last: BatchSummary | undefined;

  const process = async (event: KinesisStreamEvent, context?: Context): Promise<KinesisStreamBatchResponse> => {
    timing = timingFor(context);
    if (context) logger.addContext(context);
    if (coldStart) {
      coldStart = false;
      metrics.captureColdStartMetric(context?.functionName);
    }
    try {
      const records = event.Records ?? [];
      const total = records.length;
      // The checkpoint: index of the lowest record this invocation cannot complete. Everything
      // from there on is redelivered (Lambda resumes from the lowest reported sequence number),
      // so nothing at or after it is written once it is known.
      let cut = total;
      let cutReason = '';
      const lower = (index: number, reason: string) => {
        if (index < cut) {
          cut = index;
          cutReason = reason;
        }
      };

      const parsed = records.map((record) => parseRecord(record, config.maxRecordBytes));
      const lookedUp = await lookup.resolve(parsed.flatMap((p) => (p.ok ? [p.parsed.customerId] : [])));
      for (let i = 0; i < total; i++) {
        const p = parsed[i]!;
        const lookupError = p.ok ? lookedUp.failed.get(p.parsed.customerId) : undefined;
        if (lookupError !== undefined) {
          lower(i, `lookup failed: ${lookupError}`);
          break;
        }
      }

      const items: WriteItem[] = [];
      let malformed = 0;
      for (let ref = 0; ref < cut; ref++) {
        const record = records[ref]!;
        const p = parsed[ref]!;
        if (!p.ok) {
          logger.warn('malformed record sent to DLQ', {
            reason: p.reason,
            detail: p.detail,
            sequenceNumber: record.kinesis.sequenceNumber,
          });
          items.push({
            kind: 'dlq',
            entry: { ref, reason: p.reason, body: dlqBody(record, p.reason, p.detail, p.bytes) },
          });
          malformed++;
          continue;
        }
        const data = enrichText(p.parsed, lookedUp.profiles.get(p.parsed.customerId)!, record);
        const size = data.length + Buffer.byteLength(p.parsed.customerId);
        if (size > config.maxRecordBytes) {
          const detail = `enriched record is ${size} bytes > MAX_RECORD_BYTES ${config.maxRecordBytes}`;
          logger.warn('enriched record too large, sent to DLQ', {
            detail,
            sequenceNumber: record.kinesis.sequenceNumber,
          });
          items.push({
            kind: 'dlq',
            entry: {
              ref,
              reason: 'enriched_record_too_large',
              body: dlqBody(record, 'enriched_record_too_large', detail, size),
            },
          });
          malformed++;
          continue;
        }
        items.push({ kind: 'put', entry: { ref, data, partitionKey: p.parsed.customerId, size } });
      }

      const out = await writeInOrder(
        { kinesis: deps.kinesis, streamName: config.outputStreamName, sqs: deps.sqs, queueUrl: config.dlqUrl },
        items,
        { put: retryPut, dlq: retryDlq },
        timing,
      );
      if (out.stopped !== undefined) lower(out.stopped.ref, out.stopped.reason);
      const put = { written: out.written, requests: out.putRequests };
      const dead = { sent: out.deadLettered };

      const done = new Set<number>([...put.written, ...dead.sent]);
      let notDoneBeforeCut = 0;
      for (let ref = 0; ref < cut; ref++) if (!done.has(ref)) notDoneBeforeCut++;
      const doneAfterCut = [...done].filter((ref) => ref >= cut).length;
      const summary: BatchSummary = {
        records: total,
        emitted: put.written.length,
        deadLettered: dead.sent.length,
        failed: total - cut - doneAfterCut,
        redelivered: total - cut,
        duplicatesOnRedelivery: doneAfterCut,
        cacheHits: lookedUp.cacheHits,
        cacheMisses: lookedUp.cacheMisses,
        lookupRequests: lookedUp.requests,
        putRequests: put.requests,
      };
      last = summary;
      if (notDoneBeforeCut > 0) {
        // A bug, never expected: fail the whole batch so the event source mapping retries it all.
        throw new Error(`record accounting mismatch: ${notDoneBeforeCut} records before the checkpoint not done`);
      }

      const batchItemFailures = cut < total ? [{ itemIdentifier: records[cut]!.kinesis.sequenceNumber }] : [];

      const lookups = lookedUp.cacheHits + lookedUp.cacheMisses;
      metrics.addMetric('RecordsIn', MetricUnit.Count, total);
      metrics.addMetric('RecordsOut', MetricUnit.Count, summary.emitted);
      metrics.addMetric('MalformedRecords', MetricUnit.Count, malformed);
      metrics.addMetric('FailedRecords', MetricUnit.Count, summary.failed);
      metrics.addMetric('RedeliveredRecords', MetricUnit.Count, summary.redelivered);
      if (lookups > 0) metrics.addMetric('CacheHitRate', MetricUnit.Percent, (100 * lookedUp.cacheHits) / lookups);
      metrics.addMetric('LookupRequests', MetricUnit.Count, lookedUp.requests);
      for (const ms of lookedUp.latenciesMs) metrics.addMetric('LookupLatency', MetricUnit.Milliseconds, ms);

      if (cut < total) {
        logger.error('batch checkpointed at a failed record', {
          sequenceNumber: batchItemFailures[0]?.itemIdentifier,
          reason: cutReason,
          redelivered: summary.redelivered,
          duplicatesOnRedelivery: summary.duplicatesOnRedelivery,
        });
      }
      logger.info('batch processed', { ...summary });
      return { batchItemFailures };
    } finally {
      metrics.publishStoredMetrics();
    }
  };

  return Object.assign(process, { lookup, lastSummary: () => last });
}
