import type { RateLimit } from "./rate-limit.js";

/**
 * Token buckets by key, in the GCRA form: one number per bucket, its theoretical arrival time
 * (`tat`), the moment the bucket would be full again. A request at `now` is admitted while
 * `tat - now` (the tokens used, in time) leaves room for one more within the burst; then `tat`
 * moves one interval on. Refill is lazy (nothing runs between requests) and read from the
 * injected clock, so tests move time instead of sleeping.
 *
 * Memory is bounded: at most `maxBuckets` keys. A bucket with `tat <= now` is full, which is
 * exactly what an absent bucket means, so dropping it changes nothing. When the table is full
 * the buckets closest to full go first (full ones, then the smallest `tat`), down to 90 % of the
 * bound, so a scan (O(n log n)) happens at most once per tenth of the bound of new keys.
 * The trade-off: evicting a bucket that is not full forgets what its caller used, and that
 * caller may then send up to that much again, at most `burst` requests, once. The buckets
 * evicted are the ones with the least to forget: a flood of new keys (say, GitHub OIDC subjects
 * of many repositories, each sending one request) evicts its own nearly full buckets long before
 * a caller that is at its limit, and to evict that one it would take 90 % of the bound of keys
 * each holding more of its burst than that caller, i.e. a flood already sending many times the
 * limit itself.
 */

export interface Bucket {
  tat: number;
  /** Set when the bucket left the table: whoever kept the object looks the key up again. */
  evicted: boolean;
}

export const DEFAULT_MAX_BUCKETS = 10_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  /** Requests within the burst: `tat - now` may reach this before a request is refused. */
  private readonly tolerance: number;
  private readonly lowWater: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly maxBuckets = DEFAULT_MAX_BUCKETS,
  ) {
    this.tolerance = (limit.burst - 1) * limit.intervalMs;
    this.lowWater = Math.max(0, Math.floor(maxBuckets * 0.9));
  }

  get size(): number {
    return this.buckets.size;
  }

  /** The bucket of `key`, made (full) if it has none; may evict others (see above). */
  bucket(key: string, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxBuckets) this.prune(now);
      bucket = { tat: now, evicted: false };
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /**
   * Takes one token from `bucket` at `now`: 0 when admitted, else the milliseconds until one is
   * available (always > 0; nothing is taken then). Allocates nothing: the warm path's call.
   */
  take(bucket: Bucket, now: number): number {
    const tat = bucket.tat > now ? bucket.tat : now;
    const wait = tat - this.tolerance - now;
    if (wait > 0) return wait;
    bucket.tat = tat + this.limit.intervalMs;
    return 0;
  }

  private prune(now: number): void {
    const byTat = [...this.buckets].sort((a, b) => a[1].tat - b[1].tat);
    const drop = byTat.length - this.lowWater;
    for (let i = 0; i < byTat.length; i++) {
      const [key, bucket] = byTat[i] as [string, Bucket];
      // Full buckets go whatever the count: they are the same as absent.
      if (i >= drop && bucket.tat > now) break;
      bucket.evicted = true;
      this.buckets.delete(key);
    }
  }
}
