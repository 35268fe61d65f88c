import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { randomUUID } from "node:crypto";
import type { Telemetry } from "../src/telemetry/start.js";
import { callerToken, knownPat, startTestStack, type TestStack } from "./support/dev-stack.js";
import {
  startOtlpReceiver,
  startTestTelemetry,
  type OtlpReceiver,
  type ReceivedPoint,
} from "./support/otlp-receiver.js";

/**
 * The metrics as an OTLP collector receives them: the broker's own telemetry start (the one the
 * entries call) registers the provider; the dev stack's runtime takes its meter from it; every
 * route is called, an upstream fails; our receiver decodes what the real exporter sent.
 */

/** Every label value a metric may carry: closed sets, nothing from a request. */
const ALLOWED: Record<string, ReadonlySet<string> | ((v: string | number | boolean) => boolean)> = {
  profile: new Set(["ado-read", "ado-build", "graph-app", "nuget-feed", "_unknown"]),
  outcome: new Set([
    "issued",
    "denied",
    "rejected",
    "failed",
    "rotated",
    "pending",
    "revoked",
    "orphan_revoked",
    "skipped",
    "lease_busy",
    "sent",
  ]),
  cache: new Set(["caller_token", "credential"]),
  result: new Set([
    "hit",
    "miss",
    "ok",
    "throttled",
    "client_error",
    "server_error",
    "unavailable",
    "pass",
    "fail",
  ]),
  system: new Set(["key_vault", "entra", "azure_devops", "graph", "oidc_issuer", "notice_target"]),
  type: new Set(["expiry", "creation", "drift"]),
  kind: new Set(["pat", "client-secret", "refresh-token", "other"]),
  status: new Set([
    "active",
    "expiring",
    "expired",
    "disabled",
    "retired",
    "rotation-failed",
    "pending-verification",
    "pending-revoke",
  ]),
  days_left: new Set(["none", "expired", "0-1", "2-7", "8-30", "31+"]),
  scope: new Set(["caller", "admin"]),
  probe: new Set(["allow", "deny"]),
  "http.route": (v) => typeof v === "string" && /^\/api\/[a-z./{}-]+$/.test(v),
  "http.request.method": new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "_OTHER"]),
  "http.response.status_code": (v) => typeof v === "number" && v >= 100 && v <= 599,
};

describe("metrics over OTLP, through every route and a failing upstream", () => {
  let receiver: OtlpReceiver;
  let telemetry: Telemetry;
  let stack: TestStack;
  const canaryProfile = `canary-${randomUUID()}`;
  const canaryToken = `eyJhbGciOiJub25lIn0.${Buffer.from(randomUUID()).toString("base64url")}.sig`;
  let points: ReceivedPoint[] = [];
  let checked = 0;
  let importedPat = "";
  const sum = (metric: string, match: Record<string, string | number>) =>
    points
      .filter((p) => p.metric === metric && Object.entries(match).every(([k, v]) => p.attributes[k] === v))
      .reduce((n, p) => n + p.value, 0);

  before(async () => {
    receiver = await startOtlpReceiver();
    telemetry = await startTestTelemetry(receiver, "token-broker-test");
    // Five admin writes below, the sixth is refused: the rate_limited metric.
    stack = await startTestStack({ BROKER_ADMIN_RATE_LIMIT: "1/m,burst=5" });
    const caller = await callerToken(stack);
    const admin = await callerToken(stack, "dev-admin");
    const asCaller = (profile: string) => stack.token(caller, { profile });
    const call = (bearer: string, path: string, method = "GET", body?: unknown) =>
      stack.api(path, {
        method,
        headers: {
          authorization: `Bearer ${bearer}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    const expect = async (res: Promise<Response>, status: number) => {
      const r = await res;
      await r.arrayBuffer();
      assert.equal(r.status, status, r.url);
    };
    await expect(asCaller("ado-read"), 200);
    await expect(asCaller("ado-read"), 200); // warm: both caches hit
    await expect(asCaller("nuget-feed"), 200);
    await expect(asCaller(canaryProfile), 403);
    await expect(stack.token(canaryToken, { profile: "ado-read" }), 401);
    // Key Vault throttles the first read of graph-app's secret; the SDK retries, the token is issued.
    stack.keyVault.injectFault({ status: 429, count: 1, operation: "getSecret", retryAfterSeconds: 0 });
    await expect(asCaller("graph-app"), 200);
    // Key Vault down: a PAT profile that is not cached fails.
    stack.runtime.issuer.forget("pat-contoso-nuget");
    stack.keyVault.injectFault({ status: 503, count: 20, operation: "getSecret", retryAfterSeconds: 0 });
    await expect(asCaller("nuget-feed"), 503);
    stack.keyVault.clearFaults();
    await expect(call(admin, "/inventory"), 200);
    await expect(call(admin, "/inventory/pat-contoso-nuget"), 200);
    await expect(call(admin, "/inventory/pat-contoso-nuget/versions"), 200);
    await expect(call(admin, "/inventory/no-such-secret"), 404);
    await expect(call(admin, "/drift"), 200);
    importedPat = knownPat(stack);
    await expect(
      call(admin, "/inventory/pat-metrics-import", "PUT", {
        kind: "pat",
        value: importedPat,
        expiresOn: new Date(Date.now() + 30 * 24 * 3600_000).toISOString(),
        owner: "team@contoso.com",
        organization: "contoso",
      }),
      201,
    );
    await expect(call(admin, "/inventory/pat-metrics-import", "DELETE"), 200);
    await expect(call(admin, "/policy/explain", "POST", { profile: "ado-read", claims: { tid: "x" } }), 200);
    await expect(call(caller, "/policy/explain", "POST", { profile: canaryProfile }), 200);
    await expect(call(admin, "/sweeps/notices", "POST"), 200);
    const sweep = await call(admin, "/sweeps/rotation", "POST");
    assert.equal(sweep.status, 200);
    checked = ((await sweep.json()) as { checked: number }).checked;
    await expect(call(admin, "/inventory/pat-contoso-packages/rotate", "POST"), 200);
    await expect(call(admin, "/whoami"), 200);
    await expect(stack.api("/health"), 200);
    await expect(stack.api("/openapi.json"), 200);
    await expect(stack.api("/health", { method: "DELETE" }), 405);
    await expect(call(admin, "/sweeps/notices", "POST"), 429);
    await telemetry.flush();
    points = receiver.latest();
  });

  after(async () => {
    await stack.close();
    await telemetry.shutdown();
    await receiver.close();
  });

  test("issuance by profile and outcome; an unknown profile is `_unknown`", () => {
    assert.equal(sum("token_broker.issuance", { profile: "ado-read", outcome: "issued" }), 2);
    assert.equal(sum("token_broker.issuance", { profile: "nuget-feed", outcome: "issued" }), 1);
    assert.equal(sum("token_broker.issuance", { profile: "graph-app", outcome: "issued" }), 1);
    assert.equal(sum("token_broker.issuance", { profile: "_unknown", outcome: "denied" }), 1);
    assert.equal(sum("token_broker.issuance", { profile: "ado-read", outcome: "rejected" }), 1);
    assert.equal(sum("token_broker.issuance", { profile: "nuget-feed", outcome: "failed" }), 1);
  });

  test("cache hits and misses", () => {
    assert.ok(sum("token_broker.cache.lookup", { cache: "caller_token", result: "hit" }) >= 5);
    assert.ok(sum("token_broker.cache.lookup", { cache: "credential", result: "hit" }) >= 1);
    assert.ok(sum("token_broker.cache.lookup", { cache: "credential", result: "miss" }) >= 3);
  });

  test("upstream calls by system and result, throttled apart", () => {
    assert.ok(sum("token_broker.upstream.request", { system: "key_vault", result: "ok" }) > 0);
    assert.equal(sum("token_broker.upstream.request", { system: "key_vault", result: "throttled" }), 1);
    assert.ok(sum("token_broker.upstream.request", { system: "key_vault", result: "server_error" }) >= 2);
    assert.ok(sum("token_broker.upstream.request", { system: "entra", result: "ok" }) > 0);
    assert.ok(sum("token_broker.upstream.request", { system: "azure_devops", result: "ok" }) > 0);
    assert.ok(sum("token_broker.upstream.request", { system: "graph", result: "ok" }) > 0);
    const durations = points.filter((p) => p.metric === "token_broker.upstream.duration");
    assert.ok(durations.length > 0 && durations.every((p) => p.type === "histogram"));
  });

  test("request latency by route template, method and status", () => {
    const latency = (route: string, method: string, status: number) =>
      sum("http.server.request.duration", {
        "http.route": route,
        "http.request.method": method,
        "http.response.status_code": status,
      });
    assert.equal(latency("/api/token", "POST", 200), 4);
    assert.equal(latency("/api/token", "POST", 403), 1);
    assert.equal(latency("/api/inventory/{name}", "GET", 404), 1);
    assert.equal(latency("/api/health", "DELETE", 405), 1);
    assert.equal(latency("/api/openapi.json", "GET", 200), 1);
    assert.equal(latency("/api/inventory/{name}", "PUT", 201), 1);
    assert.equal(latency("/api/inventory/{name}", "DELETE", 200), 1);
    assert.equal(latency("/api/policy/explain", "POST", 200), 2);
    assert.equal(latency("/api/sweeps/notices", "POST", 429), 1);
  });

  test("refusals by the per-caller rate limit", () => {
    assert.equal(sum("token_broker.rate_limited", { scope: "admin" }), 1);
    assert.equal(sum("token_broker.rate_limited", { scope: "caller" }), 0);
  });

  test("rotation and notice outcomes; the credential gauge by kind, status and days left", () => {
    assert.ok(sum("token_broker.rotation", { outcome: "rotated" }) >= 1);
    assert.ok(sum("token_broker.notice", { type: "expiry", outcome: "sent" }) >= 1);
    assert.ok(sum("token_broker.notice", { type: "creation", outcome: "sent" }) >= 1);
    const gauge = points.filter((p) => p.metric === "token_broker.credentials");
    assert.ok(gauge.every((p) => p.type === "gauge"));
    // Every credential the sweep listed, once.
    assert.ok(checked > 0);
    assert.equal(
      gauge.reduce((n, p) => n + p.value, 0),
      checked,
    );
    assert.ok(sum("token_broker.credentials", { kind: "pat" }) >= 3);
    assert.ok(sum("token_broker.credentials", { kind: "pat", status: "expiring" }) >= 1);
  });

  test("every label is from its closed set; no request text, token or secret on the wire", () => {
    for (const p of points) {
      for (const [key, value] of Object.entries(p.attributes)) {
        const rule = ALLOWED[key];
        assert.ok(rule !== undefined, `${p.metric}: unexpected label ${key}`);
        const ok = typeof rule === "function" ? rule(value) : rule.has(String(value));
        assert.ok(ok, `${p.metric}: ${key}=${String(value)}`);
      }
    }
    const wire = receiver.raw.join("\n");
    for (const canary of [canaryProfile, canaryToken, importedPat, "no-such-secret", "pat-metrics-import"]) {
      assert.equal(wire.includes(canary), false, canary);
    }
    assert.equal(receiver.resourceAttributes.at(-1)?.["service.name"], "token-broker-test");
  });
});
