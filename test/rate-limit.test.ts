import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { callerToken, devClient, startTestStack, writePolicy, type TestStack } from "./support/dev-stack.js";
import { startTestIssuer, type TestIssuer } from "./support/test-issuer.js";

const AUD = "api://token-broker";
const ADO = "499b84ac-1321-427f-aa17-267ca6975798";
const EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";

interface Problem {
  code: string;
  status: number;
  detail: string;
  error?: string;
}

/** The audit lines of `event` that refused for the rate limit. */
const rateLimitedLines = (stack: TestStack, event: string) =>
  stack.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l["event"] === event && l["code"] === "rate_limited");

describe("per-caller rate limits on the dev stack", () => {
  let stack: TestStack;
  let issuer: TestIssuer;
  // The broker's clock stands still: only the test moves it (refill without sleeping).
  let clock = Date.now();
  /** A token of the test issuer for `sub` (a fresh token each call: jti differs). */
  const tokenFor = (sub: string) => issuer.sign(issuer.claims(AUD, { sub, jti: randomUUID() }));

  before(async () => {
    issuer = await startTestIssuer();
    const policy = writePolicy({
      profiles: {
        "ci-ado": { kind: "entra", scope: `${ADO}/.default`, credential: { type: "managed-identity" } },
      },
      grants: [
        { match: { iss: issuer.issuer, sub: { pattern: "repo:contoso/.+" } }, profiles: ["ci-ado"] },
        { match: { iss: issuer.issuer, sub: "admin-a" }, roles: ["Secrets.Admin"] },
        { match: { iss: issuer.issuer, sub: "admin-b" }, roles: ["Secrets.Admin"] },
      ],
    });
    stack = await startTestStack(
      {
        BROKER_POLICY_FILE: policy,
        BROKER_TRUSTED_ISSUERS: JSON.stringify([{ issuer: issuer.issuer, audiences: [AUD] }]),
        // A token every 30 s, three at once; admins: one a minute, two at once.
        BROKER_RATE_LIMIT: "2/m,burst=3",
        BROKER_ADMIN_RATE_LIMIT: "1/m,burst=2",
      },
      { now: () => clock },
    );
  });

  after(async () => {
    await stack.close();
    await issuer.close();
  });

  test("a caller over its limit gets 429 with Retry-After while another under its limit gets 200", async () => {
    const over = await callerToken(stack);
    for (let i = 0; i < 3; i++) assert.equal((await stack.token(over, { profile: "ado-read" })).status, 200);
    const refused = await stack.token(over, { profile: "ado-read" });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("content-type"), "application/problem+json");
    assert.equal(refused.headers.get("retry-after"), "30");
    assert.equal(refused.headers.get("cache-control"), "no-store");
    const text = await refused.text();
    const body = JSON.parse(text) as Problem;
    assert.equal(body.code, "rate_limited");
    assert.equal(body.status, 429);
    assert.match(body.detail, /try again in 30 s/);
    assert.ok(!text.includes(over), "the caller token is not echoed");

    // Next to it, callers under their limit are served: another Entra app, another issuer's caller.
    const ops = await callerToken(stack, "dev-ops");
    assert.equal((await stack.token(ops, { profile: "ado-read" })).status, 200);
    const ci = await tokenFor("repo:contoso/app:ref:refs/heads/main");
    assert.equal((await stack.token(ci, { profile: "ci-ado" })).status, 200);
    assert.equal((await stack.token(over, { profile: "ado-read" })).status, 429, "still over");

    const [line] = rateLimitedLines(stack, "audit.token");
    assert.ok(line !== undefined, "the refusal is audited");
    assert.equal(line["outcome"], "rejected");
    assert.equal(line["status"], 429);
    assert.equal(line["profile"], "ado-read");
    assert.equal((line["caller"] as Record<string, string>)["appid"], devClient("dev-caller").clientId);

    // Time passes (the clock, no sleeping): one token back, then over again.
    clock += 30_000;
    assert.equal((await stack.token(over, { profile: "ado-read" })).status, 200);
    const again = await stack.token(over, { profile: "ado-read" });
    assert.equal(again.status, 429);
    assert.equal(again.headers.get("retry-after"), "30");
  });

  test("the bucket is the caller's (issuer + subject), not the token's", async () => {
    const sub = "repo:contoso/tokens:ref:refs/heads/main";
    for (let i = 0; i < 3; i++) {
      assert.equal((await stack.token(await tokenFor(sub), { profile: "ci-ado" })).status, 200);
    }
    const fresh = await tokenFor(sub);
    assert.equal((await stack.token(fresh, { profile: "ci-ado" })).status, 429, "a new token does not help");
    const neighbour = await tokenFor("repo:contoso/tokens-2:ref:refs/heads/main");
    assert.equal((await stack.token(neighbour, { profile: "ci-ado" })).status, 200);
  });

  test("denied requests spend tokens too: probing for profiles is limited", async () => {
    const prober = await tokenFor("repo:contoso/probe:ref:refs/heads/main");
    for (const profile of ["nuget-feed", "graph-app", "no-such-profile"]) {
      const res = await stack.token(prober, { profile });
      assert.equal(res.status, 403);
    }
    const res = await stack.token(prober, { profile: "ci-ado" });
    assert.equal(res.status, 429, "granted, but the probes spent its tokens");
    // Without a verified caller there is no bucket: refused as ever, never 429.
    for (let i = 0; i < 5; i++)
      assert.equal((await stack.token("not-a-jwt", { profile: "ci-ado" })).status, 401);
  });

  test("explaining a decision spends the same bucket: the explainer is no free probe", async () => {
    const asker = await tokenFor("repo:contoso/explainer:ref:refs/heads/main");
    const explain = () =>
      stack.api("/policy/explain", {
        method: "POST",
        headers: { authorization: `Bearer ${asker}`, "content-type": "application/json" },
        body: JSON.stringify({ profile: "nuget-feed" }),
      });
    for (let i = 0; i < 3; i++) assert.equal((await explain()).status, 200);
    assert.equal((await explain()).status, 429);
    assert.equal((await stack.token(asker, { profile: "ci-ado" })).status, 429);
  });

  test("the token-exchange form answers 429 with the OAuth error temporarily_unavailable", async () => {
    const subjectToken = await tokenFor("repo:contoso/exchange:ref:refs/heads/main");
    const exchange = () =>
      stack.api("/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: EXCHANGE,
          subject_token: subjectToken,
          subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
          audience: "ci-ado",
        }).toString(),
      });
    for (let i = 0; i < 3; i++) assert.equal((await exchange()).status, 200);
    const res = await exchange();
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "30");
    const body = (await res.json()) as Problem;
    assert.equal(body.code, "rate_limited");
    assert.equal(body.error, "temporarily_unavailable");
  });

  test("admin write routes are limited per admin (one bucket for all writes); reads are not", async () => {
    const adminA = await tokenFor("admin-a");
    const adminB = await tokenFor("admin-b");
    const call = (token: string, path: string, method: string, body?: unknown) =>
      stack.api(path, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    // Malformed writes spend tokens too: the token is taken before the body is read.
    assert.equal((await call(adminA, "/inventory/rl-item", "PUT", {})).status, 400);
    assert.equal((await call(adminA, "/sweeps/notices", "POST")).status, 200);
    for (const [path, method] of [
      ["/inventory/rl-item", "PUT"],
      ["/inventory/rl-item", "DELETE"],
      ["/inventory/rl-item/rotate", "POST"],
      ["/sweeps/rotation", "POST"],
      ["/sweeps/notices", "POST"],
    ] as const) {
      const res = await call(adminA, path, method, method === "PUT" ? {} : undefined);
      assert.equal(res.status, 429, `${method} ${path}`);
      assert.equal(res.headers.get("retry-after"), "60");
      assert.equal(((await res.json()) as Problem).code, "rate_limited");
    }
    // Reads are not limited, and the token route's buckets are apart from the admin ones.
    for (let i = 0; i < 10; i++) assert.equal((await call(adminA, "/inventory", "GET")).status, 200);
    assert.equal((await call(adminA, "/inventory/rl-item", "GET")).status, 404);
    assert.equal((await call(adminA, "/whoami", "GET")).status, 200);
    assert.equal((await stack.token(adminA, { profile: "ci-ado" })).status, 403, "no grant, not 429");
    // Another admin under its limit writes.
    assert.equal((await call(adminB, "/sweeps/notices", "POST")).status, 200);

    const lines = rateLimitedLines(stack, "audit.inventory").concat(rateLimitedLines(stack, "audit.admin"));
    assert.deepEqual(lines.map((l) => l["action"]).sort(), [
      "import",
      "notice-sweep",
      "revoke",
      "rotate",
      "rotation-sweep",
    ]);
    for (const l of lines) {
      assert.equal(l["outcome"], "rejected");
      assert.equal((l["caller"] as Record<string, string>)["sub"], "admin-a");
    }
    clock += 60_000;
    assert.equal((await call(adminA, "/sweeps/notices", "POST")).status, 200, "refilled");
  });
});

describe("no limit set (BROKER_RATE_LIMIT=off)", () => {
  test("never answers 429, on the token route or admin writes", async () => {
    const stack = await startTestStack({ BROKER_RATE_LIMIT: "off" });
    try {
      assert.equal(stack.runtime.limiter.limits("caller"), false);
      assert.equal(stack.runtime.limiter.limits("admin"), false, "the admin limit follows it when unset");
      const caller = await callerToken(stack);
      for (let i = 0; i < 40; i++)
        assert.equal((await stack.token(caller, { profile: "ado-read" })).status, 200);
      const admin = await callerToken(stack, "dev-admin");
      for (let i = 0; i < 10; i++) {
        const res = await stack.api("/inventory/rl-item", {
          method: "PUT",
          headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
          body: "{}",
        });
        assert.equal(res.status, 400);
      }
    } finally {
      await stack.close();
    }
  });
});
