import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { ApplicationPasswordsClient } from "../src/graph/application-passwords-client.js";
import { DEV_CLIENTS, DEV_DOWNSTREAM_APP } from "../src/local/dev-identities.js";
import { httpSender, type HttpSend } from "../src/net/http-request.js";
import { deploymentIdOf, markerFor } from "../src/rotation/marker.js";
import { keyVaultClientOptions } from "../src/vault/key-vault-store.js";
import { callerToken, startTestStack, writePolicy, type TestStack } from "./support/dev-stack.js";

/**
 * Issue 16, confused deputy through Graph: the broker's identity owns applications, so an admin's
 * import must never make it remove a password it did not create or prove it holds, nor touch an
 * application other than the one the credential's clientId names, nor one off the policy's list.
 */

const DAY = 24 * 3600_000;
const APP = DEV_DOWNSTREAM_APP;
const inDays = (n: number) => new Date(Date.now() + n * DAY).toISOString();

interface Harness {
  stack: TestStack;
  send: HttpSend;
  call: (
    path: string,
    init?: { method?: string; body?: unknown },
  ) => Promise<{ status: number; body: Record<string, unknown> }>;
  /** A password someone else added to the app (not through the broker), with its value. */
  foreignPassword: (displayName: string) => Promise<{ keyId: string; secret: string }>;
  /** A client-credentials request for the app at the Entra emulator: 200 while the secret works. */
  entraStatus: (secret: string) => Promise<number>;
  keyIds: () => string[];
  vault: SecretClient;
}

async function harness(policy: string): Promise<Harness> {
  const stack = await startTestStack(
    { BROKER_POLICY_FILE: policy, BROKER_REVOKE_GRACE_MINUTES: "0" },
    { orphanMinAgeMs: 0 },
  );
  const admin = await callerToken(stack, "dev-admin");
  const ca = readFileSync(stack.caFile, "utf8");
  const send = httpSender({ extraCa: ca, devStack: true });
  const control = new ManagedIdentityCredential({ clientId: stack.identities.control.clientId });
  // "Someone else": the app's other owner, adding a password by hand (the control identity's Graph
  // access stands in for the portal here; the display name carries no marker of ours).
  const graph = new ApplicationPasswordsClient({ baseUrl: stack.graph.url, credential: control, send });
  return {
    stack,
    send,
    vault: new SecretClient(
      stack.keyVault.url,
      control,
      keyVaultClientOptions({ extraCa: ca, maxRetries: 0 }),
    ),
    call: async (path, init = {}) => {
      const res = await stack.api(path, {
        method: init.method ?? "GET",
        headers: {
          authorization: `Bearer ${admin}`,
          ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      const text = await res.text();
      if (res.status >= 400)
        assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
      return { status: res.status, body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown> };
    },
    foreignPassword: async (displayName) => {
      stack.graph.setPropagationDelay(0);
      const added = await graph.addPassword(APP.objectId, {
        displayName,
        endDateTime: new Date(Date.now() + 90 * DAY),
      });
      return { keyId: added.keyId, secret: added.secretText };
    },
    entraStatus: async (secret) =>
      (
        await send({
          method: "POST",
          url: stack.entra.tokenEndpoint,
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "client_credentials",
            client_id: APP.clientId,
            client_secret: secret,
            scope: "https://graph.microsoft.com/.default",
          }).toString(),
        })
      ).status,
    keyIds: () => stack.graph.passwords(APP.objectId).map((p) => p.keyId),
  };
}

const importSecret = (h: Harness, name: string, fields: Record<string, unknown>) =>
  h.call(`/inventory/${name}`, {
    method: "PUT",
    body: {
      kind: "client-secret",
      expiresOn: inDays(60),
      owner: "attacker@contoso.com",
      applicationObjectId: APP.objectId,
      clientId: APP.clientId,
      ...fields,
    },
  });

describe("only what the broker made or was proven to hold (the app on the policy's list)", () => {
  let h: Harness;
  before(async () => {
    h = await harness(writePolicy({ rotation: { applications: [APP.objectId.toUpperCase()] } }));
  });
  after(() => h.stack.close());

  test("a foreign keyId is never removed: DELETE is 409 password_not_ours and the secret keeps working", async () => {
    const foreign = await h.foreignPassword("ci pipeline (someone else's)");
    assert.equal(await h.entraStatus(foreign.secret), 200);
    // Named by keyId, with a value that is not its own: stored, but nothing proves it is ours.
    const put = await importSecret(h, "foreign-secret", {
      value: "not-the-real-value~1234567890",
      keyId: foreign.keyId,
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.equal(
      (await h.vault.getSecret("foreign-secret")).properties.tags?.["verified-key-ids"],
      undefined,
    );

    const del = await h.call("/inventory/foreign-secret", { method: "DELETE" });
    assert.equal(del.status, 409, JSON.stringify(del.body));
    assert.equal(del.body["code"], "password_not_ours");
    assert.ok(h.keyIds().includes(foreign.keyId), "the foreign password is still on the app");
    assert.equal(await h.entraStatus(foreign.secret), 200, "and still works at Entra");
    assert.equal((await h.call("/inventory/foreign-secret")).status, 200, "the record is kept");
  });

  test("a proof binds a value to its keyId: another working secret of the app proves nothing", async () => {
    const foreign = await h.foreignPassword("deploy key (someone else's)");
    // The attacker holds a real secret of the same app, and claims the foreign keyId with it.
    const mine = await h.foreignPassword("mine");
    assert.equal(await h.entraStatus(mine.secret), 200);
    const put = await importSecret(h, "claimed-secret", { value: mine.secret, keyId: foreign.keyId });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const del = await h.call("/inventory/claimed-secret", { method: "DELETE" });
    assert.equal(del.body["code"], "password_not_ours");
    assert.ok(h.keyIds().includes(foreign.keyId));
    assert.equal(await h.entraStatus(foreign.secret), 200);
  });

  test("rotation never revokes a foreign predecessor; the proven and the broker-made are removed", async () => {
    const foreign = await h.foreignPassword("release agent (someone else's)");
    const put = await importSecret(h, "rotating-foreign", {
      value: "also-not-the-value~1234567890",
      keyId: foreign.keyId,
      rotation: "auto",
      lifetimeDays: 30,
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const rotated = await h.call("/inventory/rotating-foreign/rotate", { method: "POST" });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const sweep = await h.stack.runtime.rotation.sweep("route");
    assert.ok(sweep.acquired);
    assert.deepEqual(
      sweep.value.failed.filter((f) => f.name === "rotating-foreign"),
      [{ name: "rotating-foreign", reason: "password_not_ours" }],
    );
    assert.ok(h.keyIds().includes(foreign.keyId));
    assert.equal(await h.entraStatus(foreign.secret), 200, "the predecessor nobody proved stays working");

    // With its real value the import is proven (Entra issues a token for it): then it may go.
    const proven = await h.foreignPassword("handed over to the broker");
    const imported = await importSecret(h, "proven-secret", { value: proven.secret, keyId: proven.keyId });
    assert.equal(imported.status, 201, JSON.stringify(imported.body));
    assert.equal(
      (await h.vault.getSecret("proven-secret")).properties.tags?.["verified-key-ids"],
      proven.keyId,
    );
    const del = await h.call("/inventory/proven-secret", { method: "DELETE" });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.equal(del.body["upstreamRevocation"], "revoked");
    assert.ok(!h.keyIds().includes(proven.keyId));
  });

  test("a clientId that is not the application's appId: nothing is imported, added or removed", async () => {
    const before = h.keyIds();
    const seeded = (await h.call("/inventory/app-downstream-secret")).body["keyId"] as string;
    const other = DEV_CLIENTS[0]?.clientId ?? "";
    // Import with a value: the proof reads the app first and finds another appId.
    const put = await importSecret(h, "mismatch-import", {
      value: "whatever-value~1234567890",
      keyId: seeded,
      clientId: other,
    });
    assert.equal(put.status, 409, JSON.stringify(put.body));
    assert.equal(put.body["code"], "client_id_mismatch");
    assert.equal((await h.call("/inventory/mismatch-import")).status, 404);
    // Broker-made (no value): no addPassword on an app that is not the clientId's.
    const made = await importSecret(h, "mismatch-made", {
      clientId: other,
      lifetimeDays: 30,
      expiresOn: undefined,
    });
    assert.equal(made.status, 409, JSON.stringify(made.body));
    assert.equal(made.body["code"], "client_id_mismatch");
    // A record that claims the seeded password (even as proven) under another client id.
    await h.vault.setSecret("mismatch-record", "x~value~1234567890", {
      contentType: "application/vnd.microsoft.entra.client-secret",
      expiresOn: new Date(Date.now() + 60 * DAY),
      tags: {
        "managed-by": "token-broker",
        kind: "client-secret",
        owner: "attacker@contoso.com",
        rotation: "auto",
        "lifetime-days": "30",
        "application-object-id": APP.objectId,
        "client-id": other,
        "key-id": seeded,
        "verified-key-ids": seeded,
      },
    });
    const del = await h.call("/inventory/mismatch-record", { method: "DELETE" });
    assert.equal(del.status, 409, JSON.stringify(del.body));
    assert.equal(del.body["code"], "client_id_mismatch");
    const rotate = await h.call("/inventory/mismatch-record/rotate", { method: "POST" });
    assert.equal(rotate.status, 409, JSON.stringify(rotate.body));
    assert.equal(rotate.body["code"], "client_id_mismatch");
    assert.deepEqual(h.keyIds(), before, "no password added or removed");
  });

  test("orphan repair leaves an application off the list alone, even a password with our marker", async () => {
    const marker = markerFor(deploymentIdOf(h.stack.config.keyVaultUrl), "ghost-secret", Date.now());
    const orphan = await h.foreignPassword(marker);
    const sweep = await h.stack.runtime.rotation.sweep("route");
    assert.ok(sweep.acquired);
    assert.deepEqual(sweep.value.orphansRevoked, []);
    assert.ok(h.keyIds().includes(orphan.keyId));
  });
});

describe("rotation.applications: an application off the list is refused", () => {
  let h: Harness;
  before(async () => {
    h = await harness(writePolicy({ rotation: { applications: ["a1b2c3d4-0000-4000-8000-00000000ffff"] } }));
  });
  after(() => h.stack.close());

  test("import, broker-made import, rotate and DELETE answer 403 application_not_managed and touch nothing", async () => {
    const before = h.keyIds();
    const seeded = (await h.call("/inventory/app-downstream-secret")).body["keyId"] as string;
    const put = await importSecret(h, "off-list", { value: "some-value~1234567890", keyId: seeded });
    assert.equal(put.status, 403, JSON.stringify(put.body));
    assert.equal(put.body["code"], "application_not_managed");
    const made = await importSecret(h, "off-list-made", { lifetimeDays: 30, expiresOn: undefined });
    assert.equal(made.body["code"], "application_not_managed");
    const rotate = await h.call("/inventory/app-downstream-secret/rotate", { method: "POST" });
    assert.equal(rotate.status, 403, JSON.stringify(rotate.body));
    assert.equal(rotate.body["code"], "application_not_managed");
    const del = await h.call("/inventory/app-downstream-secret", { method: "DELETE" });
    assert.equal(del.status, 403, JSON.stringify(del.body));
    assert.equal(del.body["code"], "application_not_managed");
    assert.equal((await h.call("/inventory/app-downstream-secret")).status, 200, "the record is kept");
    assert.deepEqual(h.keyIds(), before, "no password added or removed");
  });

  test("orphan repair leaves an application off the list alone, even a password with our marker", async () => {
    const marker = markerFor(deploymentIdOf(h.stack.config.keyVaultUrl), "ghost-secret", Date.now());
    const orphan = await h.foreignPassword(marker);
    const sweep = await h.stack.runtime.rotation.sweep("route");
    assert.ok(sweep.acquired);
    assert.deepEqual(sweep.value.orphansRevoked, []);
    assert.ok(h.keyIds().includes(orphan.keyId));
  });
});
