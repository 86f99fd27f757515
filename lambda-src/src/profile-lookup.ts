import type { LookupBackend } from './dynamodb-backend';
import { ENTRY_OVERHEAD_BYTES, LruTtlCache } from './lru-cache';
import { profileFragment } from './records';
import { backoff, mapLimit, type RetryPolicy, type Timing } from './retry';

/** BatchGetItem takes at most 100 keys per call. */
export const BATCH_GET_MAX_KEYS = 100;
/** BatchGetItem calls in flight at once for one batch. */
const LOOKUP_CONCURRENCY = 4;

export interface LookupOutcome {
  /**
   * customer_id → the handler's JSON fragment for it (`"customer_name":…,"customer":…`; both
   * null for a customer the table does not know).
   */
  readonly profiles: Map<string, string>;
  /** customer_ids whose lookup failed after retries (their records must not be emitted). */
  readonly failed: Map<string, string>;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  /** BatchGetItem calls made (including retries of UnprocessedKeys). */
  readonly requests: number;
  /** Duration of each BatchGetItem call, ms. */
  readonly latenciesMs: number[];
}

/**
 * Resolves customer profiles: in-process LRU+TTL cache first (positive and negative answers),
 * then BatchGetItem for the distinct misses, 100 keys a call, retrying UnprocessedKeys.
 */
export class ProfileLookup {
  /** customer_id → JSON fragment; sized by the fragment's UTF-8 bytes + key + overhead. */
  readonly cache: LruTtlCache<string, string>;

  constructor(
    private readonly backend: LookupBackend,
    cacheMaxEntries: number,
    cacheTtlSeconds: number,
    private readonly retry: RetryPolicy,
    private readonly timing: Timing,
    now: () => number = Date.now,
    cacheMaxBytes: number = Number.POSITIVE_INFINITY,
  ) {
    this.cache = new LruTtlCache(
      cacheMaxEntries,
      cacheTtlSeconds * 1000,
      now,
      cacheMaxBytes,
      (key, fragment) => Buffer.byteLength(key) + Buffer.byteLength(fragment) + ENTRY_OVERHEAD_BYTES,
    );
  }

  async resolve(customerIds: Iterable<string>): Promise<LookupOutcome> {
    const profiles = new Map<string, string>();
    const failed = new Map<string, string>();
    const misses: string[] = [];
    let cacheHits = 0;
    for (const id of new Set(customerIds)) {
      const cached = this.cache.get(id);
      if (cached === undefined) {
        misses.push(id);
      } else {
        cacheHits++;
        profiles.set(id, cached);
      }
    }
    const chunks: string[][] = [];
    for (let i = 0; i < misses.length; i += BATCH_GET_MAX_KEYS) chunks.push(misses.slice(i, i + BATCH_GET_MAX_KEYS));

    let requests = 0;
    const latenciesMs: number[] = [];
    await mapLimit(chunks, LOOKUP_CONCURRENCY, async (chunk) => {
      let pending = chunk;
      for (let attempt = 1; ; attempt++) {
        const started = performance.now();
        requests++;
        let result;
        try {
          result = await this.backend.batchGet(pending);
        } catch (err) {
          // The SDK already retried this call (throttling, 5xx, network); give these keys up.
          const reason = `${(err as Error).name}: ${(err as Error).message}`;
          for (const id of pending) failed.set(id, reason);
          return;
        } finally {
          latenciesMs.push(performance.now() - started);
        }
        const unprocessed = new Set(result.unprocessed);
        for (const id of pending) {
          if (unprocessed.has(id)) continue;
          const conversion = result.failed?.get(id);
          if (conversion !== undefined) {
            failed.set(id, conversion);
            continue;
          }
          const fragment = profileFragment(result.found.get(id) ?? null);
          profiles.set(id, fragment);
          this.cache.set(id, fragment);
        }
        pending = pending.filter((id) => unprocessed.has(id));
        if (pending.length === 0) return;
        if (!(await backoff(this.retry, attempt, this.timing))) {
          for (const id of pending) failed.set(id, `UnprocessedKeys after ${attempt} attempts`);
          return;
        }
      }
    });
    return { profiles, failed, cacheHits, cacheMisses: misses.length, requests, latenciesMs };
  }
}
