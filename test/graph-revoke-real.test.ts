import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { ApplicationPasswordsClient } from "../src/graph/application-passwords-client.js";
import { formatPending } from "../src/inventory/pending-revoke.js";
import { DEV_DOWNSTREAM_APP } from "../src/local/dev-identities.js";
import { httpSender } from "../src/net/http-request.js";
import { callerToken, logsContain, startTestStack, type TestStack } from "./support/dev-stack.js";

const DAY = 24 * 3600_000;
const APP = DEV_DOWNSTREAM_APP.objectId;

/**
 * App client secrets revoked through Graph as it really answers: an absent keyId's answer is
 * undocumented (400 or 404), an app the identity may not write is 403, and a 5xx may hide a
 * removal that happened. "revoked" only on Graph's 204; "not-found" only when the read-back shows
 * the password gone; anything else keeps the credential.
 */
describe("Graph revocation on the dev stack: never revoked unless the password is gone", () => {
  let stack: TestStack;
  let admin: string;
  let graph: ApplicationPasswordsClient;
  const canaries: string[] = [];

  const call = async (path: string, init: RequestInit = {}) => {
    const res = await stack.api(path, {
      ...init,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** A real password on the dev app, imported as a managed client secret. */
  const importPassword = async (name: string) => {
    const added = await graph.addPassword(APP, {
      displayName: name,
      endDateTime: new Date(Date.now() + 30 * DAY),
    });
    canaries.push(added.secretText);
    const res = await call(`/inventory/${name}`, {
      method: "PUT",
      body: JSON.stringify({
        kind: "client-secret",
        value: added.secretText,
        expiresOn: added.endDateTime.toISOString(),
        owner: "team@contoso.com",
        applicationObjectId: APP,
        clientId: DEV_DOWNSTREAM_APP.clientId,
        keyId: added.keyId,
      }),
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return added.keyId;
  };
  const holds = (keyId: string) => stack.graph.passwords(APP).some((p) => p.keyId === keyId);

  before(async () => {
    stack = await startTestStack();
    // Imports are proven against Entra at once (so the broker may remove them): no propagation wait.
    stack.graph.setPropagationDelay(0);
    admin = await callerToken(stack, "dev-admin");
    graph = new ApplicationPasswordsClient({
      baseUrl: stack.config.graphUrl,
      // The control identity: the one with Graph's Application.ReadWrite.OwnedBy.
      credential: new ManagedIdentityCredential({
        clientId: stack.identities.control.clientId,
        retryOptions: { maxRetries: 0 },
      }),
      send: httpSender({ extraCa: readFileSync(stack.caFile, "utf8"), devStack: true }),
    });
  });
  after(async () => {
    await stack.close();
  });

  test("an app the broker may not write (403): 502, the credential and the password are kept", async () => {
    const keyId = await importPassword("app-not-ours");
    stack.graph.injectFault({ status: 403, count: 1, operation: "removePassword" });
    const refused = await call("/inventory/app-not-ours", { method: "DELETE" });
    assert.equal(refused.status, 502, JSON.stringify(refused.body));
    assert.equal(refused.body["code"], "upstream_error");
    assert.equal((await call("/inventory/app-not-ours")).status, 200);
    assert.equal(holds(keyId), true);
  });

  test("a 5xx where nothing happened: 503, kept; a 5xx that hid the removal: gone, not-found", async () => {
    const keyId = await importPassword("app-outage");
    stack.graph.injectFault({ status: 503, count: 1, operation: "removePassword" });
    const down = await call("/inventory/app-outage", { method: "DELETE" });
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal((await call("/inventory/app-outage")).status, 200);
    assert.equal(holds(keyId), true);

    stack.graph.injectFault({ status: 503, count: 1, operation: "removePassword", afterApplying: true });
    const hidden = await call("/inventory/app-outage", { method: "DELETE" });
    assert.equal(hidden.status, 200, JSON.stringify(hidden.body));
    assert.equal(hidden.body["upstreamRevocation"], "not-found");
    assert.equal(holds(keyId), false);
  });

  test("a keyId already removed by hand: not-found (never revoked), whichever status Graph answers", async () => {
    for (const status of [400, 404] as const) {
      const name = `app-gone-${status}`;
      const keyId = await importPassword(name);
      assert.equal(await graph.removePassword(APP, keyId), "removed");
      stack.graph.setAbsentKeyIdStatus(status);
      const res = await call(`/inventory/${name}`, { method: "DELETE" });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body["upstreamRevocation"], "not-found");
    }
    stack.graph.setAbsentKeyIdStatus(400);
    const keyId = await importPassword("app-live");
    const res = await call("/inventory/app-live", { method: "DELETE" });
    assert.equal(res.body["upstreamRevocation"], "revoked");
    assert.equal(holds(keyId), false);
  });

  test("an application Graph does not show: 502 and kept (a soft-deleted app comes back with its passwords)", async () => {
    const value = "Zq8~" + randomUUID().replaceAll("-", "");
    canaries.push(value);
    const created = await call("/inventory/app-unknown", {
      method: "PUT",
      body: JSON.stringify({
        kind: "client-secret",
        value,
        expiresOn: new Date(Date.now() + 30 * DAY).toISOString(),
        owner: "team@contoso.com",
        applicationObjectId: randomUUID(),
        clientId: randomUUID(),
        keyId: randomUUID(),
      }),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const res = await call("/inventory/app-unknown", { method: "DELETE" });
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal((await call("/inventory/app-unknown")).status, 200);
  });

  test("only replaced secrets left (pending-revoke): revoked if one was removed now, else not-found", async () => {
    for (const [name, live] of [
      ["app-pending-gone", false],
      ["app-pending-live", true],
    ] as const) {
      const keyId = await importPassword(name);
      if (!live) assert.equal(await graph.removePassword(APP, keyId), "removed");
      const current = await stack.runtime.store.getProperties(name);
      const tags: Record<string, string> = {
        ...current.tags,
        "pending-revoke": formatPending([{ id: keyId, after: Date.now() + DAY }]) ?? "",
      };
      Reflect.deleteProperty(tags, "key-id");
      await stack.runtime.store.updateProperties(name, current.version, { tags });
      const res = await call(`/inventory/${name}`, { method: "DELETE" });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body["upstreamRevocation"], live ? "revoked" : "not-found", name);
      assert.equal(holds(keyId), false);
    }
  });

  test("the rotation sweep: a pending keyId already gone upstream is done (not-found), not failed forever", async () => {
    const name = "app-downstream-secret";
    const current = await stack.runtime.store.getProperties(name);
    const gone = randomUUID();
    await stack.runtime.store.updateProperties(name, current.version, {
      tags: {
        ...current.tags,
        "pending-revoke": formatPending([{ id: gone, after: Date.now() - 1000 }]) ?? "",
      },
    });
    const swept = await stack.runtime.rotation.sweep("route");
    assert.ok(swept.acquired);
    assert.deepEqual(
      swept.value.failed.filter((f) => f.name === name),
      [],
    );
    assert.deepEqual(
      swept.value.revoked.filter((r) => r.name === name),
      [{ name, upstreamId: gone, outcome: "not-found" }],
    );
    const after = await stack.runtime.store.getProperties(name);
    assert.equal(after.tags["pending-revoke"], undefined);
    assert.deepEqual(logsContain(stack.logs, canaries), []);
  });
});
