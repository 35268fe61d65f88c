/**
 * Values that expire, loaded once per key even under concurrent misses (single-flight): N callers
 * asking for a profile whose token just expired cause one upstream call, not N. Failures are
 * not cached, so the next request tries again. Optionally bounded: past `maxEntries` the value
 * stored longest ago is evicted first.
 */
export class ExpiringCache<K, V> {
  private readonly values = new Map<K, { value: V; until: number }>();
  private readonly inflight = new Map<K, Promise<V>>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxEntries = Number.POSITIVE_INFINITY,
  ) {}

  /** The cached value if fresh, synchronously (the hot path skips a promise). */
  peek(key: K): V | undefined {
    const hit = this.values.get(key);
    if (hit === undefined) return undefined;
    if (this.now() < hit.until) return hit.value;
    // Dropped at once, so an expired value does not hold a place in a bounded cache.
    this.values.delete(key);
    return undefined;
  }

  /** How many values are held (expired ones not yet dropped included). */
  get size(): number {
    return this.values.size;
  }

  async getOrLoad(key: K, load: () => Promise<{ value: V; until: number }>): Promise<V> {
    const hit = this.values.get(key);
    if (hit !== undefined && this.now() < hit.until) return hit.value;
    let pending = this.inflight.get(key);
    if (pending === undefined) {
      const loading: Promise<V> = load()
        .then(({ value, until }) => {
          // A load that was evicted while in flight (the value changed under it) is not kept.
          if (this.inflight.get(key) !== loading) return value;
          this.store(key, value, until);
          return value;
        })
        .finally(() => {
          if (this.inflight.get(key) === loading) this.inflight.delete(key);
        });
      pending = loading;
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Stores a value learnt elsewhere; a load in flight for the key is superseded by it. */
  set(key: K, value: V, until: number): void {
    this.inflight.delete(key);
    this.store(key, value, until);
  }

  /** Forgets the value and any load in flight: the next caller loads afresh. */
  delete(key: K): void {
    this.values.delete(key);
    this.inflight.delete(key);
  }

  /** Forgets every value (and load in flight) whose cached value matches. */
  deleteWhere(match: (value: V, key: K) => boolean): void {
    for (const [key, hit] of this.values) if (match(hit.value, key)) this.delete(key);
  }

  private store(key: K, value: V, until: number): void {
    // Re-inserted rather than updated in place: Map order is then the order of storing.
    this.values.delete(key);
    if (until <= this.now()) return;
    this.values.set(key, { value, until });
    if (this.values.size > this.maxEntries) {
      const oldest = this.values.keys().next();
      if (oldest.done !== true) this.values.delete(oldest.value);
    }
  }
}
