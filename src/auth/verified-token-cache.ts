import { hash } from "node:crypto";

/**
 * Verified callers by SHA-256 of their token, so the hot path skips signature checks. Bounded
 * (oldest evicted first) and never serves an entry past its token's `exp` or its own max age.
 * Keyed by a hash so the cache itself never holds a usable token.
 */
export class VerifiedTokenCache<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly maxAgeMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  static keyOf(token: string): string {
    return hash("sha256", token, "base64url");
  }

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.now() >= entry.until) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, expiresAt: number): void {
    const until = Math.min(expiresAt, this.now() + this.maxAgeMs);
    if (until <= this.now()) return;
    this.entries.delete(key);
    this.entries.set(key, { value, until });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
