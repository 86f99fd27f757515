/**
 * Bounded exponential backoff with full jitter for the parts of a call that AWS reports as not
 * done (BatchGetItem UnprocessedKeys, PutRecords / SendMessageBatch failed entries). Whole-call
 * errors (throttling, 5xx, network) are retried by the SDK's own standard retry strategy.
 */
export interface RetryPolicy {
  /** Total attempts including the first one (>= 1). */
  readonly maxAttempts: number;
  /** Base delay in ms; attempt n (1-based retry number) waits random(0, min(cap, base * 2^(n-1))). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_LOOKUP_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 2_000 };
export const DEFAULT_PUT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 3_000 };
export const DEFAULT_DLQ_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 2_000 };

/** Attempts of the SDK's standard retry strategy for a whole failed call. */
export const SDK_MAX_ATTEMPTS = 3;

export interface Timing {
  sleep(ms: number): Promise<void>;
  random(): number;
  /** Milliseconds left before the invocation times out; Infinity outside Lambda. */
  remainingMs(): number;
}

export const realTiming = (remainingMs: () => number = () => Number.POSITIVE_INFINITY): Timing => ({
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  remainingMs,
});

/** Keep this much time for the rest of the invocation instead of sleeping into the timeout. */
const SAFETY_MARGIN_MS = 1_500;

/**
 * Waits before retry number `retry` (1-based). Returns false when the policy is exhausted or the
 * wait would run into the invocation timeout: the caller then gives up on the pending work.
 */
export async function backoff(policy: RetryPolicy, retry: number, timing: Timing): Promise<boolean> {
  if (retry >= policy.maxAttempts) return false;
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const delay = Math.floor(timing.random() * ceiling);
  if (timing.remainingMs() - delay < SAFETY_MARGIN_MS) return false;
  if (delay > 0) await timing.sleep(delay);
  return true;
}

/** Runs `fn` over `items` with at most `limit` promises in flight; results keep input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
