/**
 * Values that expire, loaded once per key even under concurrent misses (single-flight): N callers
 * asking for a profile whose token just expired cause one upstream call, not N. Failures are
 * not cached, so the next request tries again.
 */
export class ExpiringCache<K, V> {
  private readonly values = new Map<K, { value: V; until: number }>();
  private readonly inflight = new Map<K, Promise<V>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The cached value if fresh, synchronously (the hot path skips a promise). */
  peek(key: K): V | undefined {
    const hit = this.values.get(key);
    return hit !== undefined && this.now() < hit.until ? hit.value : undefined;
  }

  async getOrLoad(key: K, load: () => Promise<{ value: V; until: number }>): Promise<V> {
    const hit = this.values.get(key);
    if (hit !== undefined && this.now() < hit.until) return hit.value;
    let pending = this.inflight.get(key);
    if (pending === undefined) {
      pending = load()
        .then(({ value, until }) => {
          if (until > this.now()) this.values.set(key, { value, until });
          else this.values.delete(key);
          return value;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  delete(key: K): void {
    this.values.delete(key);
  }
}
