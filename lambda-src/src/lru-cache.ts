/**
 * Small LRU cache with a per-entry time-to-live and two bounds, entries and bytes, built on Map
 * insertion order. `undefined` means "not cached", so values must not be `undefined`.
 *
 * Bytes are what `sizeOf` says an entry costs. The profile cache stores each profile as the JSON
 * text the handler writes (see profile-lookup.ts) and counts the UTF-8 length of that text plus
 * the key plus {@link ENTRY_OVERHEAD_BYTES}: an approximation of the heap it holds (V8 keeps
 * one-byte strings at ~1 byte a character, two-byte strings at 2, plus object headers).
 */
export const ENTRY_OVERHEAD_BYTES = 64;

export class LruTtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number; bytes: number }>();
  private totalBytes = 0;

  /**
   * @param maxEntries capacity in entries; 0 disables the cache
   * @param ttlMs time-to-live of an entry in milliseconds; 0 disables the cache
   * @param now clock in milliseconds (injectable for tests)
   * @param maxBytes capacity in bytes as counted by `sizeOf`; 0 disables the cache
   * @param sizeOf cost of one entry in bytes
   */
  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxBytes: number = Number.POSITIVE_INFINITY,
    private readonly sizeOf: (key: K, value: V) => number = () => 0,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Sum of the entries' sizes. */
  get bytes(): number {
    return this.totalBytes;
  }

  get enabled(): boolean {
    return this.maxEntries > 0 && this.ttlMs > 0 && this.maxBytes > 0;
  }

  /** Returns the live value and marks it most recently used; expired entries are dropped. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) {
      this.totalBytes -= entry.bytes;
      return undefined;
    }
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    if (!this.enabled) return;
    this.delete(key);
    const bytes = this.sizeOf(key, value);
    // An entry bigger than the whole cache would only evict everything else.
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs, bytes });
    this.totalBytes += bytes;
    while (this.entries.size > this.maxEntries || this.totalBytes > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }
}
