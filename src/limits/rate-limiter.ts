import type { Principal } from "../auth/principal.js";
import { DomainError } from "../domain-error.js";
import type { RateLimit } from "./rate-limit.js";
import { DEFAULT_MAX_BUCKETS, TokenBuckets, type Bucket } from "./token-buckets.js";

/**
 * Per-caller rate limits, per instance: a token bucket per verified caller (issuer + subject)
 * and route class. `caller` is `POST /api/token`, `admin` the write routes of the inventory and
 * the sweeps; each class has buckets of its own, so an admin's writes do not spend its tokens.
 * Only verified callers are bucketed: keying on an unverified claim would let anyone drain
 * someone else's bucket, and a request that fails authentication never reaches issuance.
 */
export type RateClass = "caller" | "admin";

export class RateLimitedError extends DomainError<"rate_limited"> {
  override name = "RateLimitedError";
  constructor(
    /** Whole seconds until the caller's next request would be admitted (at least 1). */
    readonly retryAfterSeconds: number,
  ) {
    super("rate_limited");
  }
}

interface Family {
  buckets: TokenBuckets;
  /** Each verified principal (one cached object per caller token) keeps its bucket: one lookup. */
  held: WeakMap<Principal, Bucket>;
}

export class RateLimiter {
  private readonly families: Partial<Record<RateClass, Family>> = {};

  constructor(
    limits: Readonly<Partial<Record<RateClass, RateLimit | undefined>>>,
    private readonly now: () => number,
    maxBuckets = DEFAULT_MAX_BUCKETS,
    /** Told of each refusal (the rate_limited metric). */
    private readonly onLimited: (kind: RateClass) => void = () => undefined,
  ) {
    for (const kind of ["caller", "admin"] as const) {
      const limit = limits[kind];
      if (limit !== undefined) {
        this.families[kind] = { buckets: new TokenBuckets(limit, maxBuckets), held: new WeakMap() };
      }
    }
  }

  /** Whether `kind` has a limit at all. */
  limits(kind: RateClass): boolean {
    return this.families[kind] !== undefined;
  }

  /** How many buckets `kind` holds (tests: the bound). */
  size(kind: RateClass): number {
    return this.families[kind]?.buckets.size ?? 0;
  }

  /**
   * Spends one of the caller's tokens, whatever the request then comes to (a denied profile
   * too, so probing is limited as well); throws RateLimitedError when none is left.
   */
  admit(kind: RateClass, principal: Principal): void {
    const family = this.families[kind];
    if (family === undefined) return;
    const now = this.now();
    let bucket = family.held.get(principal);
    if (bucket === undefined || bucket.evicted) {
      // The issuer is a configured one, a URL, which holds no NUL: the first NUL ends it, so
      // no subject can pass for another issuer's caller.
      bucket = family.buckets.bucket(`${principal.issuer}\u0000${principal.subject}`, now);
      family.held.set(principal, bucket);
    }
    const wait = family.buckets.take(bucket, now);
    if (wait > 0) {
      this.onLimited(kind);
      throw new RateLimitedError(Math.max(1, Math.ceil(wait / 1000)));
    }
  }
}
