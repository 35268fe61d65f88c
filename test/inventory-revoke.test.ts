import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DEV_DOWNSTREAM_APP, DEV_USER } from "../src/local/dev-identities.js";
import { callerToken, knownPat, logsContain, startTestStack, type TestStack } from "./support/dev-stack.js";

const DAY = 24 * 3600_000;

/** DELETE /api/inventory/{name} against the Azure DevOps and Graph emulators of the dev stack. */
describe("revocation upstream, then soft delete", () => {
  let stack: TestStack;
  let admin: string;
  const canaries: string[] = [];
  const texts: string[] = [];

  async function call(path: string, init: RequestInit = {}) {
    const res = await stack.api(path, {
      ...init,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      },
    });
    const text = await res.text();
    texts.push(text);
    return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> };
  }
  const importPat = (name: string, extra: Record<string, unknown>) => {
    const value = knownPat(
      stack,
      typeof extra["organization"] === "string" ? extra["organization"] : "contoso",
    );
    canaries.push(value);
    return call(`/inventory/${name}`, {
      method: "PUT",
      body: JSON.stringify({
        kind: "pat",
        value,
        expiresOn: new Date(Date.now() + 20 * DAY).toISOString(),
        owner: "team@contoso.com",
        ...extra,
      }),
    });
  };
  const patStatus = (authorizationId: string) =>
    stack.devops.pats("contoso").find((p) => p.authorizationId === authorizationId)?.status;

  before(async () => {
    stack = await startTestStack();
    admin = await callerToken(stack, "dev-admin");
  });
  after(async () => {
    await stack.close();
  });

  test("a PAT is revoked through the PAT Lifecycle API as the rotator's user, then soft-deleted", async () => {
    const item = (await call("/inventory/pat-contoso-nuget")).body;
    const authorizationId = item["authorizationId"] as string;
    assert.equal(patStatus(authorizationId), "active");
    const res = await call("/inventory/pat-contoso-nuget", { method: "DELETE" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body["upstreamRevocation"], "revoked");
    assert.equal(patStatus(authorizationId), "revoked");
    assert.equal((await call("/inventory/pat-contoso-nuget")).status, 404);
  });

  test("an app client secret is removed through Graph, then soft-deleted", async () => {
    const item = (await call("/inventory/app-downstream-secret")).body;
    const keyId = item["keyId"] as string;
    assert.ok(stack.graph.passwords(DEV_DOWNSTREAM_APP.objectId).some((p) => p.keyId === keyId));
    const res = await call("/inventory/app-downstream-secret", { method: "DELETE" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body["upstreamRevocation"], "revoked");
    assert.ok(!stack.graph.passwords(DEV_DOWNSTREAM_APP.objectId).some((p) => p.keyId === keyId));
  });

  test("what upstream does not know is not-found; what has no organization is not-configured", async () => {
    await importPat("pat-unknown-upstream", {
      organization: "contoso",
      authorizationId: "11111111-2222-4333-8444-555555555555",
    });
    const unknown = await call("/inventory/pat-unknown-upstream", { method: "DELETE" });
    assert.equal(unknown.status, 200, JSON.stringify(unknown.body));
    assert.equal(unknown.body["upstreamRevocation"], "not-found");

    // A global PAT from before they were retired: imports refuse them now, the vault may hold one.
    await stack.runtime.store.setSecret("pat-global", knownPat(stack), {
      expiresOn: new Date(Date.now() + 20 * DAY),
      tags: {
        "managed-by": "token-broker",
        kind: "pat",
        owner: "team@contoso.com",
        org: "*",
        "authorization-id": "21111111-2222-4333-8444-555555555555",
      },
    });
    const global = await call("/inventory/pat-global", { method: "DELETE" });
    assert.equal(global.status, 200);
    assert.equal(global.body["upstreamRevocation"], "not-configured");
  });

  test("an upstream outage keeps the credential (503); a refused grant is 502 until ?upstream=skip", async () => {
    const created = await importPat("pat-kept", {
      organization: "contoso",
      authorizationId: "31111111-2222-4333-8444-555555555555",
    });
    assert.equal(created.status, 201);
    stack.devops.injectFault({ status: 503, count: 20, operation: "revoke" });
    const down = await call("/inventory/pat-kept", { method: "DELETE" });
    stack.devops.clearFaults();
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.ok(down.headers.get("retry-after"));
    assert.equal((await call("/inventory/pat-kept")).status, 200);

    const skip = await call("/inventory/pat-kept?upstream=skip", { method: "DELETE" });
    assert.equal(skip.status, 200);
    assert.equal(skip.body["upstreamRevocation"], "skipped");
    assert.equal((await call("/inventory/pat-kept?upstream=never", { method: "DELETE" })).status, 400);
  });

  test("a withdrawn grant (revoked refresh token) is 502 and keeps the credential", async () => {
    // A stack of its own: no access token of the rotator's user is cached there yet.
    const fresh = await startTestStack();
    try {
      fresh.entra.revokeRefreshTokens(DEV_USER.objectId);
      const token = await callerToken(fresh, "dev-admin");
      const del = (query = "") =>
        fresh.api(`/inventory/pat-contoso-nuget${query}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${token}` },
        });
      const refused = await del();
      const body = (await refused.json()) as Record<string, unknown>;
      assert.equal(refused.status, 502, JSON.stringify(body));
      assert.equal(body["code"], "upstream_error");
      const kept = await fresh.api("/inventory/pat-contoso-nuget", {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(kept.status, 200);
      const skipped = await del("?upstream=skip");
      assert.equal(((await skipped.json()) as Record<string, unknown>)["upstreamRevocation"], "skipped");
      assert.deepEqual(logsContain(fresh.logs, canaries), []);
    } finally {
      await fresh.close();
    }
  });

  test("no credential value in any answer or log line", () => {
    assert.deepEqual(logsContain(stack.logs, canaries), []);
    assert.deepEqual(
      canaries.filter((c) => texts.some((t) => t.includes(c))),
      [],
    );
  });
});
