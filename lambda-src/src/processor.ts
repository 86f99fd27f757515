import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { EnrichmentConfig } from './config';
import { sendToDlq, type DlqEntry } from './dlq';
import type { LookupBackend } from './dynamodb-backend';
import { putAll, type OutputEntry } from './output-writer';
import { ProfileLookup } from './profile-lookup';
import { compareSequenceNumbers, dlqBody, enrich, parseRecord, type RawEvent } from './records';
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

/** What happened to the records of one batch; every record lands in exactly one list. */
export interface BatchSummary {
  readonly records: number;
  readonly emitted: number;
  readonly deadLettered: number;
  readonly failed: number;
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
    ((context: Context | undefined) =>
      realTiming(context ? () => context.getRemainingTimeInMillis() : undefined));
  // The timing of the current invocation; the lookup reads it through this indirection.
  let timing: Timing = timingFor(undefined);
  const lookup = new ProfileLookup(
    deps.backend,
    config.cacheMaxEntries,
    config.cacheTtlSeconds,
    retryLookup,
    { sleep: (ms) => timing.sleep(ms), random: () => timing.random(), remainingMs: () => timing.remainingMs() },
    deps.now,
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
      const failures = new Map<number, string>();
      const dlq: DlqEntry[] = [];
      const valid: { ref: number; event: RawEvent }[] = [];

      records.forEach((record, ref) => {
        const parsed = parseRecord(record, config.maxRecordBytes);
        if (parsed.ok) {
          valid.push({ ref, event: parsed.event });
        } else {
          logger.warn('malformed record sent to DLQ', {
            reason: parsed.reason,
            detail: parsed.detail,
            sequenceNumber: record.kinesis.sequenceNumber,
          });
          dlq.push({ ref, reason: parsed.reason, body: dlqBody(record, parsed.reason, parsed.detail, parsed.bytes) });
        }
      });

      const lookedUp = await lookup.resolve(valid.map((v) => v.event.customer_id));

      const output: OutputEntry[] = [];
      for (const { ref, event: raw } of valid) {
        const lookupError = lookedUp.failed.get(raw.customer_id);
        if (lookupError !== undefined) {
          failures.set(ref, `lookup failed: ${lookupError}`);
          continue;
        }
        const data = Buffer.from(JSON.stringify(enrich(raw, lookedUp.profiles.get(raw.customer_id) ?? null)));
        const size = data.length + Buffer.byteLength(raw.customer_id);
        if (size > config.maxRecordBytes) {
          const record = records[ref]!;
          const detail = `enriched record is ${size} bytes > MAX_RECORD_BYTES ${config.maxRecordBytes}`;
          logger.warn('enriched record too large, sent to DLQ', { detail, sequenceNumber: record.kinesis.sequenceNumber });
          dlq.push({ ref, reason: 'enriched_record_too_large', body: dlqBody(record, 'enriched_record_too_large', detail, size) });
          continue;
        }
        output.push({ ref, data, partitionKey: raw.customer_id, size });
      }

      const [put, dead] = await Promise.all([
        output.length > 0
          ? putAll(deps.kinesis(), config.outputStreamName, output, retryPut, timing)
          : { written: [], failed: new Map<number, string>(), requests: 0 },
        dlq.length > 0
          ? sendToDlq(deps.sqs(), config.dlqUrl, dlq, retryDlq, timing)
          : { sent: [], failed: new Map<number, string>(), requests: 0 },
      ]);
      for (const [ref, reason] of put.failed) failures.set(ref, `put failed: ${reason}`);
      for (const [ref, reason] of dead.failed) failures.set(ref, `DLQ send failed: ${reason}`);

      const summary: BatchSummary = {
        records: total,
        emitted: put.written.length,
        deadLettered: dead.sent.length,
        failed: failures.size,
        cacheHits: lookedUp.cacheHits,
        cacheMisses: lookedUp.cacheMisses,
        lookupRequests: lookedUp.requests,
        putRequests: put.requests,
      };
      last = summary;
      if (summary.emitted + summary.deadLettered + summary.failed !== total) {
        // A bug, never expected: fail the whole batch so the event source mapping retries it all.
        throw new Error(`record accounting mismatch: ${JSON.stringify(summary)}`);
      }

      // Kinesis checkpoints at the lowest reported sequence number and redelivers everything from
      // there, so every failed record is reported, lowest first.
      const batchItemFailures = [...failures.keys()]
        .map((ref) => records[ref]!.kinesis.sequenceNumber)
        .sort(compareSequenceNumbers)
        .map((itemIdentifier) => ({ itemIdentifier }));

      const lookups = lookedUp.cacheHits + lookedUp.cacheMisses;
      metrics.addMetric('RecordsIn', MetricUnit.Count, total);
      metrics.addMetric('RecordsOut', MetricUnit.Count, summary.emitted);
      metrics.addMetric('MalformedRecords', MetricUnit.Count, dead.sent.length + dead.failed.size);
      metrics.addMetric('FailedRecords', MetricUnit.Count, summary.failed);
      if (lookups > 0) metrics.addMetric('CacheHitRate', MetricUnit.Percent, (100 * lookedUp.cacheHits) / lookups);
      metrics.addMetric('LookupRequests', MetricUnit.Count, lookedUp.requests);
      for (const ms of lookedUp.latenciesMs) metrics.addMetric('LookupLatency', MetricUnit.Milliseconds, ms);

      if (failures.size > 0) {
        logger.error('records reported as batch item failures', {
          count: failures.size,
          lowestSequenceNumber: batchItemFailures[0]?.itemIdentifier,
          reasons: [...new Set(failures.values())].slice(0, 5),
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
