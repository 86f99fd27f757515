/**
 * A local Kinesis event source mapping: reads the shards of a real stream (moto server or
 * kinesis-mock, through the AWS SDK) and invokes a function with batches the way AWS Lambda's
 * Kinesis event source mapping does (see local-aws/README.md for what is and is not covered):
 *
 *   - batch size, batching window, starting position LATEST / TRIM_HORIZON, a 6 MB payload cap;
 *   - one invocation at a time per shard (shards in parallel), records in sequence order;
 *   - event shape as Lambda sends it (eventID `shardId-…:<seq>`, eventSourceARN, base64 data …);
 *   - ReportBatchItemFailures: resume from the lowest reported sequence number; an empty or null
 *     list / response = whole batch done; an item without a valid itemIdentifier (missing, empty,
 *     not a string, not a sequence number of the batch) = whole batch failed;
 *   - BisectBatchOnFunctionError (splitting does not use up retries; with a partial failure the
 *     batch is cut at the reported record), MaximumRetryAttempts, MaximumRecordAgeInSeconds;
 *   - on-failure destination: an SQS message in AWS's invocation-record shape (KinesisBatchInfo).
 *
 * Nothing here is AWS code: it follows the documented behaviour, pinned by local-aws/test.
 */
import { randomUUID } from 'node:crypto';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

/** The function: resolves with its response, rejects for a function error (crash, timeout). */
export type LocalFunction = (event: KinesisStreamEvent, context: Context) => Promise<unknown>;

export interface EventSourceMappingOptions {
  readonly kinesis: KinesisClient;
  /** ARN of the stream (`arn:aws:kinesis:<region>:<account>:stream/<name>`). */
  readonly streamArn: string;
  readonly function: LocalFunction;
  /** ARN reported in the on-failure record and the invokeIdentityArn of every record. */
  readonly functionArn?: string;
  readonly roleArn?: string;
  /** Records per batch, 1-10000 (AWS default 100). */
  readonly batchSize?: number;
  /** Seconds to gather records before invoking, 0-300 (default 0). */
  readonly maximumBatchingWindowInSeconds?: number;
  readonly startingPosition?: 'LATEST' | 'TRIM_HORIZON';
  readonly reportBatchItemFailures?: boolean;
  readonly bisectBatchOnFunctionError?: boolean;
  /** -1 = retry until the records expire (AWS default), else 0-10000. */
  readonly maximumRetryAttempts?: number;
  /** -1 = no limit (AWS default), else 60-604800. */
  readonly maximumRecordAgeInSeconds?: number;
  /** SQS on-failure destination. */
  readonly onFailure?: { readonly sqs: SQSClient; readonly queueUrl: string };
  /** Function timeout handed to the context (getRemainingTimeInMillis), ms; default 60000. */
  readonly functionTimeoutMs?: number;
  /** Clock for record ages and timestamps (ms); tests move it forward. */
  readonly now?: () => number;
}

export type InvocationOutcome = 'success' | 'partial' | 'function_error' | 'invalid_response';

export interface Invocation {
  readonly shardId: string;
  readonly sequenceNumbers: readonly string[];
  readonly outcome: InvocationOutcome;
  /** Retries used so far for these records when the call was made (0 = first attempt). */
  readonly retry: number;
  readonly response?: unknown;
  readonly error?: string;
}

export interface OnFailureRecord {
  readonly requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    approximateInvokeCount: number;
  };
  readonly responseContext: { statusCode: number; executedVersion: string; functionError: string | null };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

/** Lambda's synchronous invocation payload limit; a batch is cut to stay under it. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

function check(name: string, value: number, min: number, max: number, allowMinusOne = false): number {
  if (!Number.isInteger(value) || ((value < min || value > max) && !(allowMinusOne && value === -1))) {
    throw new Error(
      `${name}=${value} is invalid: must be an integer between ${min} and ${max}${allowMinusOne ? ' or -1' : ''}`,
    );
  }
  return value;
}

const compareSeq = (a: string, b: string) => (a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0);

interface ShardState {
  readonly shardId: string;
  iterator: string | undefined;
  /** Fetched records not yet checkpointed, in sequence order. */
  buffer: _Record[];
  /** Retries used by the records at the head of the buffer. */
  retries: number;
  closed: boolean;
}

export class KinesisEventSourceMapping {
  readonly invocations: Invocation[] = [];
  readonly onFailureRecords: OnFailureRecord[] = [];
  /** Invocations that included a record, by sequence number (for approximateInvokeCount). */
  private readonly attempts = new Map<string, number>();
  private readonly o: Required<Omit<EventSourceMappingOptions, 'onFailure'>> &
    Pick<EventSourceMappingOptions, 'onFailure'>;
  private readonly region: string;
  private readonly streamName: string;
  private shards: ShardState[] | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(options: EventSourceMappingOptions) {
    const m = /^arn:aws[a-z-]*:kinesis:([a-z0-9-]+):(\d{12}):stream\/([A-Za-z0-9_.-]+)$/.exec(options.streamArn);
    if (!m)
      throw new Error(
        `streamArn=${JSON.stringify(options.streamArn)} is invalid: must be arn:aws:kinesis:<region>:<account>:stream/<name>`,
      );
    this.region = m[1]!;
    this.streamName = m[3]!;
    this.o = {
      functionArn: `arn:aws:lambda:${m[1]}:${m[2]}:function:local`,
      roleArn: `arn:aws:iam::${m[2]}:role/local`,
      batchSize: 100,
      maximumBatchingWindowInSeconds: 0,
      startingPosition: 'LATEST',
      reportBatchItemFailures: false,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeInSeconds: -1,
      functionTimeoutMs: 60_000,
      now: Date.now,
      ...options,
    };
    check('batchSize', this.o.batchSize, 1, 10_000);
    check('maximumBatchingWindowInSeconds', this.o.maximumBatchingWindowInSeconds, 0, 300);
    check('maximumRetryAttempts', this.o.maximumRetryAttempts, 0, 10_000, true);
    check('maximumRecordAgeInSeconds', this.o.maximumRecordAgeInSeconds, 60, 604_800, true);
    if (!['LATEST', 'TRIM_HORIZON'].includes(this.o.startingPosition)) {
      throw new Error(
        `startingPosition=${JSON.stringify(this.o.startingPosition)} is invalid: must be LATEST or TRIM_HORIZON`,
      );
    }
  }

  /** Lists the shards and takes the starting position (LATEST is "now"). Idempotent. */
  async init(): Promise<void> {
    if (this.shards) return;
    const shards: ShardState[] = [];
    let token: string | undefined;
    do {
      const res = await this.o.kinesis.send(
        new ListShardsCommand(token ? { NextToken: token } : { StreamName: this.streamName }),
      );
      for (const s of res.Shards ?? []) {
        const it = await this.o.kinesis.send(
          new GetShardIteratorCommand({
            StreamName: this.streamName,
            ShardId: s.ShardId!,
            ShardIteratorType: this.o.startingPosition,
          }),
        );
        shards.push({ shardId: s.ShardId!, iterator: it.ShardIterator, buffer: [], retries: 0, closed: false });
      }
      token = res.NextToken;
    } while (token);
    this.shards = shards;
  }

  /**
   * Processes every shard until it has no unprocessed records left (GetRecords returns none and
   * nothing is pending). Shards run in parallel, one invocation at a time each.
   */
  async drain(): Promise<void> {
    await this.init();
    await Promise.all(this.shards!.map((s) => this.drainShard(s)));
  }

  /** Polls continuously (about once a second per idle shard, as Lambda does) until stop(). */
  start(pollMs = 1_000): void {
    if (this.running) return;
    this.stopping = false;
    this.running = (async () => {
      await this.init();
      while (!this.stopping) {
        await this.drain();
        await new Promise((r) => setTimeout(r, pollMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.running = undefined;
  }

  /** One GetRecords call; returns the number of records read and whether the shard is behind. */
  private async fetch(shard: ShardState, max: number): Promise<{ got: number; behind: boolean }> {
    if (shard.iterator === undefined) {
      shard.closed = true;
      return { got: 0, behind: false };
    }
    const res = await this.o.kinesis.send(
      new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: Math.min(max, 10_000) }),
    );
    const got = res.Records ?? [];
    shard.buffer.push(...got);
    shard.iterator = res.NextShardIterator;
    return { got: got.length, behind: (res.MillisBehindLatest ?? 0) > 0 };
  }

  private async drainShard(shard: ShardState): Promise<void> {
    for (;;) {
      if (shard.buffer.length < this.o.batchSize) {
        let read = await this.fetch(shard, this.o.batchSize - shard.buffer.length);
        // An empty answer while behind the tip is not the end of the shard: read on.
        while (read.got === 0 && read.behind && shard.buffer.length === 0)
          read = await this.fetch(shard, this.o.batchSize);
        // Batching window: keep reading until the batch is full or the window has passed.
        const windowMs = this.o.maximumBatchingWindowInSeconds * 1000;
        const started = Date.now();
        while (shard.buffer.length < this.o.batchSize && Date.now() - started < windowMs && !shard.closed) {
          const more = await this.fetch(shard, this.o.batchSize - shard.buffer.length);
          if (more.got === 0)
            await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, windowMs - (Date.now() - started)))));
        }
      }
      if (shard.buffer.length === 0) return;
      await this.processHead(shard, this.takeBatch(shard.buffer.slice(0, this.o.batchSize)));
    }
  }

  /** Cuts a batch so that its event stays under the 6 MB payload limit (at least one record). */
  private takeBatch(records: _Record[]): _Record[] {
    let bytes = 20;
    for (let i = 0; i < records.length; i++) {
      bytes += Math.ceil((records[i]!.Data?.length ?? 0) / 3) * 4 + 600;
      if (bytes > MAX_PAYLOAD_BYTES && i > 0) return records.slice(0, i);
    }
    return records;
  }

  /**
   * Runs one batch (the head of the shard's buffer) to completion: invoked until done, bisected,
   * or given up (on-failure destination). Checkpointing = dropping records from the buffer head.
   */
  private async processHead(shard: ShardState, batch: _Record[]): Promise<void> {
    let pending = batch;
    while (pending.length > 0) {
      // Records older than the maximum age are discarded before the function sees them.
      if (this.o.maximumRecordAgeInSeconds !== -1) {
        const limit = this.o.now() - this.o.maximumRecordAgeInSeconds * 1000;
        // Ages fall along the shard, so the expired records are a prefix of the batch.
        const n = pending.findIndex((r) => (r.ApproximateArrivalTimestamp?.getTime() ?? 0) >= limit);
        const cut = n === -1 ? pending.length : n;
        if (cut > 0) {
          await this.giveUp(shard, pending.slice(0, cut), 'RecordAgeExceeded', null);
          pending = pending.slice(cut);
          continue;
        }
      }
      const result = await this.invoke(shard, pending);
      if (result.kind === 'done') {
        this.checkpoint(shard, pending.length);
        return;
      }
      if (result.kind === 'partial') {
        // Resume from the lowest reported record; everything before it is done.
        // (With BisectBatchOnFunctionError this is AWS's "bisected at the returned sequence
        // number"; without it, the same: Lambda retries from the checkpoint.)
        this.checkpoint(shard, result.from);
        pending = pending.slice(result.from);
      } else if (result.kind === 'error' && this.o.bisectBatchOnFunctionError && pending.length > 1) {
        // Split in two, without using up a retry; each half runs to completion in order.
        const half = Math.ceil(pending.length / 2);
        const retries = shard.retries;
        await this.processHead(shard, pending.slice(0, half));
        shard.retries = retries;
        await this.processHead(shard, pending.slice(half));
        return;
      }
      // A failed attempt (function error, invalid response, partial failure): one retry used.
      if (this.o.maximumRetryAttempts !== -1 && shard.retries >= this.o.maximumRetryAttempts) {
        await this.giveUp(shard, pending, 'RetryAttemptsExhausted', result.kind === 'partial' ? null : 'Unhandled');
        return;
      }
      shard.retries++;
    }
  }

  private checkpoint(shard: ShardState, count: number): void {
    for (const r of shard.buffer.splice(0, count)) this.attempts.delete(r.SequenceNumber!);
    if (count > 0) shard.retries = 0;
  }

  private toEvent(shard: ShardState, records: _Record[]): KinesisStreamEvent {
    return lambdaKinesisEvent(records, {
      shardId: shard.shardId,
      streamArn: this.o.streamArn,
      region: this.region,
      roleArn: this.o.roleArn,
    });
  }

  private async invoke(
    shard: ShardState,
    records: _Record[],
  ): Promise<{ kind: 'done' } | { kind: 'partial'; from: number } | { kind: 'error' } | { kind: 'invalid' }> {
    const event = this.toEvent(shard, records);
    const deadline = Date.now() + this.o.functionTimeoutMs;
    const requestId = randomUUID();
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: this.o.functionArn.split(':').pop()!,
      functionVersion: '$LATEST',
      invokedFunctionArn: this.o.functionArn,
      memoryLimitInMB: '256',
      awsRequestId: requestId,
      logGroupName: '/aws/lambda/local',
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    } satisfies Context;
    const seqs = records.map((r) => r.SequenceNumber!);
    for (const s of seqs) this.attempts.set(s, (this.attempts.get(s) ?? 0) + 1);
    let response: unknown;
    let timer: NodeJS.Timeout | undefined;
    try {
      // A function that outlives its timeout is a function error (its work so far stays done).
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Task timed out after ${this.o.functionTimeoutMs} ms`)),
          this.o.functionTimeoutMs,
        );
      });
      response = await Promise.race([this.o.function(event, context), timeout]);
    } catch (err) {
      this.invocations.push({
        shardId: shard.shardId,
        sequenceNumbers: seqs,
        outcome: 'function_error',
        retry: shard.retries,
        error: String((err as Error)?.message ?? err),
      });
      return { kind: 'error' };
    } finally {
      clearTimeout(timer);
    }
    const record = (outcome: InvocationOutcome) =>
      this.invocations.push({ shardId: shard.shardId, sequenceNumbers: seqs, outcome, retry: shard.retries, response });
    if (!this.o.reportBatchItemFailures) {
      record('success');
      return { kind: 'done' };
    }
    const failures = (response as { batchItemFailures?: unknown } | null | undefined)?.batchItemFailures;
    if (response === null || response === undefined || failures === null || failures === undefined) {
      record('success');
      return { kind: 'done' };
    }
    if (!Array.isArray(failures)) {
      record('invalid_response');
      return { kind: 'invalid' };
    }
    if (failures.length === 0) {
      record('success');
      return { kind: 'done' };
    }
    const index = new Map(seqs.map((s, i) => [s, i]));
    let lowest = Number.POSITIVE_INFINITY;
    for (const f of failures) {
      const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      if (typeof id !== 'string' || id === '' || !index.has(id)) {
        record('invalid_response');
        return { kind: 'invalid' };
      }
      lowest = Math.min(lowest, index.get(id)!);
    }
    record('partial');
    return { kind: 'partial', from: lowest };
  }

  private async giveUp(
    shard: ShardState,
    records: _Record[],
    condition: OnFailureRecord['requestContext']['condition'],
    functionError: string | null,
  ): Promise<void> {
    const first = records[0]!;
    const last = records[records.length - 1]!;
    const message: OnFailureRecord = {
      requestContext: {
        requestId: randomUUID(),
        functionArn: this.o.functionArn,
        condition,
        approximateInvokeCount: this.attempts.get(first.SequenceNumber!) ?? 0,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError },
      version: '1.0',
      timestamp: new Date(this.o.now()).toISOString(),
      KinesisBatchInfo: {
        shardId: shard.shardId,
        startSequenceNumber: first.SequenceNumber!,
        endSequenceNumber: last.SequenceNumber!,
        approximateArrivalOfFirstRecord: (first.ApproximateArrivalTimestamp ?? new Date(0)).toISOString(),
        approximateArrivalOfLastRecord: (last.ApproximateArrivalTimestamp ?? new Date(0)).toISOString(),
        batchSize: records.length,
        streamArn: this.o.streamArn,
      },
    };
    this.onFailureRecords.push(message);
    if (this.o.onFailure) {
      await this.o.onFailure.sqs.send(
        new SendMessageCommand({ QueueUrl: this.o.onFailure.queueUrl, MessageBody: JSON.stringify(message) }),
      );
    }
    // Discarded records are checkpointed: the shard moves on.
    const at = shard.buffer.indexOf(first);
    if (at !== 0) throw new Error('internal: discarded records are not at the head of the shard');
    this.checkpoint(shard, records.length);
  }
}

/**
 * The event Lambda sends for records of one shard (GetRecords output). Also for a replay that
 * re-processes records named by an on-failure message: the same eventID / eventSourceARN give the
 * handler the same derived event ids.
 */
export function lambdaKinesisEvent(
  records: readonly _Record[],
  source: { shardId: string; streamArn: string; region: string; roleArn: string },
): KinesisStreamEvent {
  return {
    Records: records.map(
      (r): KinesisStreamRecord => ({
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: r.PartitionKey!,
          sequenceNumber: r.SequenceNumber!,
          data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
          approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? 0) / 1000,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${source.shardId}:${r.SequenceNumber}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: source.roleArn,
        awsRegion: source.region,
        eventSourceARN: source.streamArn,
      }),
    ),
  };
}

/** Sorts sequence numbers numerically (they are decimal strings of up to 128 bits). */
export const compareSequenceNumbers = compareSeq;
