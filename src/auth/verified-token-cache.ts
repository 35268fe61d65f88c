import { hash } from "node:crypto";
import { ExpiringCache } from "../issuance/expiring-cache.js";

/**
 * Verified callers by SHA-256 of their token, so the hot path skips signature checks. Bounded
 * (oldest evicted first) and never serves an entry past its token's `exp` or its own max age.
 * Keyed by a hash so the cache itself never holds a usable token.
 */
export class VerifiedTokenCache<T> {
  private readonly entries: ExpiringCache<string, T>;

  constructor(
    maxEntries = 10_000,
    private readonly maxAgeMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {
    this.entries = new ExpiringCache(now, maxEntries);
  }

  static keyOf(token: string): string {
    return hash("sha256", token, "base64url");
  }

  get(key: string): T | undefined {
    return this.entries.peek(key);
  }

  set(key: string, value: T, expiresAt: number): void {
    this.entries.set(key, value, Math.min(expiresAt, this.now() + this.maxAgeMs));
  }

  get size(): number {
    return this.entries.size;
  }
}
