interface Entry<V> {
  value: V;
  expiresAt: number;
}

/**
 * A bounded in-memory cache with a time to live. The Hub rate-limits anonymous callers and a model
 * page is opened many times a minute, so answers are reused; only successes are kept, so an outage
 * is never remembered. Concurrent misses for one key share a single load.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Promise<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  async getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt > this.now()) {
        // Re-inserting moves the key to the end, so eviction drops the least recently used.
        this.entries.delete(key);
        this.entries.set(key, hit);
        return hit.value;
      }
      this.entries.delete(key);
    }
    const pending = this.loading.get(key);
    if (pending !== undefined) return pending;
    const loaded = load().finally(() => this.loading.delete(key));
    this.loading.set(key, loaded);
    const value = await loaded;
    this.store(key, value);
    return value;
  }

  private store(key: string, value: V): void {
    if (this.ttlMs <= 0 || this.maxEntries <= 0) return;
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
  }
}
