import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Principal } from "../src/auth/principal.js";
import { ConfigError, loadConfig } from "../src/config.js";
import { parseRateLimit } from "../src/limits/rate-limit.js";
import { RateLimitedError, RateLimiter } from "../src/limits/rate-limiter.js";
import { TokenBuckets } from "../src/limits/token-buckets.js";

const caller = (subject: string, issuer = "https://token.actions.githubusercontent.com"): Principal => ({
  issuer,
  issuerKind: "trusted",
  subject,
  claims: {},
  expiresAt: Number.MAX_SAFE_INTEGER,
});

/** Takes one token for `key`: 0 when admitted, else the wait in ms. */
const take = (buckets: TokenBuckets, key: string, now: number) => buckets.take(buckets.bucket(key, now), now);

/** The seconds of Retry-After admit() gives, or 0 when it admits. */
function admit(limiter: RateLimiter, kind: "caller" | "admin", principal: Principal): number {
  try {
    limiter.admit(kind, principal);
    return 0;
  } catch (error) {
    assert.ok(error instanceof RateLimitedError);
    return error.retryAfterSeconds;
  }
}

describe("token buckets (GCRA), on an injected clock", () => {
  test("a burst at once, then one per interval; a refused request takes nothing", () => {
    const buckets = new TokenBuckets({ intervalMs: 1000, burst: 3 });
    assert.deepEqual(
      [0, 0, 0].map(() => take(buckets, "a", 0)),
      [0, 0, 0],
    );
    assert.equal(take(buckets, "a", 0), 1000);
    assert.equal(take(buckets, "a", 999), 1, "still short by a millisecond");
    assert.equal(take(buckets, "a", 1000), 0, "one token came back");
    assert.equal(take(buckets, "a", 1000), 1000);
    // After a quiet spell the bucket is full again, never fuller.
    assert.deepEqual(
      [0, 0, 0, 0].map(() => take(buckets, "a", 60_000)),
      [0, 0, 0, 1000],
    );
  });

  test("the sustained rate: a caller sending every 100 ms for 10 s gets its burst plus one a second", () => {
    const buckets = new TokenBuckets({ intervalMs: 1000, burst: 3 });
    let admitted = 0;
    for (let t = 0; t < 10_000; t += 100) if (take(buckets, "a", t) === 0) admitted += 1;
    assert.equal(admitted, 3 + 9);
  });

  test("keys have buckets of their own", () => {
    const buckets = new TokenBuckets({ intervalMs: 1000, burst: 1 });
    assert.equal(take(buckets, "a", 0), 0);
    assert.equal(take(buckets, "a", 0), 1000);
    assert.equal(take(buckets, "b", 0), 0, "b is under its limit while a is over");
  });

  test("a flood of distinct keys stays within the bound and evicts its own buckets, not a caller at its limit", () => {
    const buckets = new TokenBuckets({ intervalMs: 1000, burst: 5 }, 100);
    for (let i = 0; i < 5; i++) assert.equal(take(buckets, "heavy", 0), 0);
    assert.ok(take(buckets, "heavy", 0) > 0);
    for (let i = 0; i < 10_000; i++) {
      assert.equal(take(buckets, `flood-${i}`, 10), 0);
      assert.ok(buckets.size <= 100);
    }
    assert.ok(take(buckets, "heavy", 10) > 0, "the heavy caller's bucket survived the flood");
  });

  test("buckets that are full again go first: evicting them changes nothing", () => {
    const buckets = new TokenBuckets({ intervalMs: 1000, burst: 2 }, 10);
    // Nine old buckets and "busy" fill the table: "new" is the key that prunes, with "busy" in it.
    for (let i = 0; i < 9; i++) take(buckets, `old-${i}`, 0);
    take(buckets, "busy", 5000);
    take(buckets, "busy", 5000);
    // The table is full: the next key prunes every full bucket (the old ones), not "busy".
    take(buckets, "new", 5000);
    assert.equal(buckets.size, 2);
    assert.equal(take(buckets, "busy", 5000), 1000);
  });

  test("evicting a bucket that is not full gives its caller at most one burst more", () => {
    const buckets = new TokenBuckets({ intervalMs: 1000, burst: 3 }, 10);
    for (let i = 0; i < 3; i++) take(buckets, "x", 0);
    // Ten keys that each spent more than x (later, so later arrival times) push x out.
    for (let k = 0; k < 10; k++) for (let i = 0; i < 3; i++) take(buckets, `k-${k}`, 1);
    let extra = 0;
    while (take(buckets, "x", 1) === 0) extra += 1;
    assert.equal(extra, 3, "x was pushed out and got one burst back, no more");
  });
});

describe("the rate limiter", () => {
  test("per verified caller (issuer + subject), per class, with Retry-After in whole seconds", () => {
    let now = 0;
    const limit = { intervalMs: 30_000, burst: 2 };
    const limiter = new RateLimiter({ caller: limit, admin: limit }, () => now);
    const a = caller("repo:contoso/app:ref:refs/heads/main");
    assert.equal(admit(limiter, "caller", a), 0);
    assert.equal(admit(limiter, "caller", a), 0);
    assert.equal(admit(limiter, "caller", a), 30);
    // Another token of the same caller is another Principal object: the same bucket.
    assert.equal(admit(limiter, "caller", { ...a }), 30);
    assert.equal(admit(limiter, "caller", caller(a.subject, "https://other.example.com")), 0);
    assert.equal(admit(limiter, "admin", a), 0, "admin writes have buckets of their own");
    now = 29_001;
    assert.equal(admit(limiter, "caller", a), 1, "rounded up, at least 1");
    now = 30_000;
    assert.equal(admit(limiter, "caller", a), 0);
  });

  test("a sub-second wait is 1 s", () => {
    const limiter = new RateLimiter({ caller: { intervalMs: 1000 / 3, burst: 1 } }, () => 0);
    assert.equal(admit(limiter, "caller", caller("s")), 0);
    assert.equal(admit(limiter, "caller", caller("s")), 1);
  });

  test("a class without a limit never refuses and holds no buckets", () => {
    const limiter = new RateLimiter({ caller: undefined }, () => 0);
    for (let i = 0; i < 10_000; i++) assert.equal(admit(limiter, "caller", caller("s")), 0);
    assert.equal(limiter.limits("caller"), false);
    assert.equal(limiter.size("caller"), 0);
  });

  test("bounded memory through the limiter too", () => {
    const limiter = new RateLimiter({ caller: { intervalMs: 1000, burst: 1 } }, () => 0, 50);
    for (let i = 0; i < 5000; i++) admit(limiter, "caller", caller(`s-${i}`));
    assert.ok(limiter.size("caller") <= 50);
  });
});

describe("BROKER_RATE_LIMIT and BROKER_ADMIN_RATE_LIMIT", () => {
  const base = {
    KEY_VAULT_URL: "https://kv-broker.vault.azure.net/",
    BROKER_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
    BROKER_AUDIENCE: "api://token-broker",
    BROKER_POLICY_FILE: "/home/site/wwwroot/policy/policy.json",
  };
  const failure = (env: Record<string, string>): string => {
    try {
      loadConfig({ ...base, ...env });
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.message;
    }
    assert.fail("expected a ConfigError");
  };

  test("N/s or N/m, burst defaulting to N, or off", () => {
    assert.deepEqual(parseRateLimit("20/s"), { intervalMs: 50, burst: 20 });
    assert.deepEqual(parseRateLimit("20/s,burst=40"), { intervalMs: 50, burst: 40 });
    assert.deepEqual(parseRateLimit(" 5 / M , burst = 1 "), { intervalMs: 12_000, burst: 1 });
    assert.deepEqual(parseRateLimit("1/s"), { intervalMs: 1000, burst: 1 });
    assert.equal(parseRateLimit("off"), "off");
    assert.equal(parseRateLimit("OFF"), "off");
  });

  test("unset is no limit; admins get the callers' limit unless theirs is set (off included)", () => {
    assert.deepEqual(loadConfig(base).rateLimits, { caller: undefined, admin: undefined });
    const limit = { intervalMs: 50, burst: 40 };
    assert.deepEqual(loadConfig({ ...base, BROKER_RATE_LIMIT: "20/s,burst=40" }).rateLimits, {
      caller: limit,
      admin: limit,
    });
    assert.deepEqual(
      loadConfig({ ...base, BROKER_RATE_LIMIT: "20/s,burst=40", BROKER_ADMIN_RATE_LIMIT: "off" }).rateLimits,
      { caller: limit, admin: undefined },
    );
    assert.deepEqual(
      loadConfig({ ...base, BROKER_RATE_LIMIT: "  ", BROKER_ADMIN_RATE_LIMIT: "1/m" }).rateLimits,
      { caller: undefined, admin: { intervalMs: 60_000, burst: 1 } },
    );
  });

  test("a bad value stops the start, naming the setting and the rule, never the value", () => {
    const canary = "canary-Rl7";
    const cases: [string, RegExp][] = [
      ["0/s", /BROKER_RATE_LIMIT: the rate must be 1 to 1000000/],
      ["abc", /BROKER_RATE_LIMIT: must be N\/s or N\/m/],
      ["5/h", /BROKER_RATE_LIMIT: must be N\/s or N\/m/],
      ["1.5/s", /BROKER_RATE_LIMIT: must be N\/s or N\/m/],
      ["-1/s", /BROKER_RATE_LIMIT: must be N\/s or N\/m/],
      ["5/s,burst=0", /BROKER_RATE_LIMIT: burst must be 1 to 1000000/],
      ["5/s,burst=", /BROKER_RATE_LIMIT: must be N\/s or N\/m/],
      ["2000000/s", /BROKER_RATE_LIMIT: the rate must be/],
      [`5/s,${canary}`, /BROKER_RATE_LIMIT: must be N\/s or N\/m/],
    ];
    for (const [value, expected] of cases) {
      const message = failure({ BROKER_RATE_LIMIT: value });
      assert.match(message, expected, value);
      assert.ok(!message.includes(canary));
    }
    assert.match(failure({ BROKER_ADMIN_RATE_LIMIT: "0/m" }), /BROKER_ADMIN_RATE_LIMIT: the rate must be/);
  });
});
