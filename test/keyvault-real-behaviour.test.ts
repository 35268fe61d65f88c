import assert from "node:assert/strict";
import https from "node:https";
import { after, before, describe, test } from "node:test";
import type { TokenCredential } from "@azure/core-auth";
import { isRestError } from "@azure/core-rest-pipeline";
import { SecretClient } from "@azure/keyvault-secrets";
import { createDevCertificate, type DevCertificate } from "../src/local/dev-certificate.js";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "../src/local/emulators/keyvault.js";
import { KeyVaultSecretStore, keyVaultClientOptions } from "../src/vault/key-vault-store.js";
import {
  allSecrets,
  SecretDeletedError,
  SecretDisabledError,
  VaultRejectedError,
} from "../src/vault/secret-store.js";

/**
 * What the real service answers, from azure-sdk-for-js `sdk/keyvault/keyvault-secrets/recordings`
 * (used here as test data): the emulator must answer the same, and the store must cope with it.
 */
const RECORDED = {
  // recordings/node/…/recording_cant_get_a_disabled_secret.json (GET /secrets/{name}/, 2022)
  disabledGet: {
    error: {
      code: "Forbidden",
      message: "Operation get is not allowed on a disabled secret.",
      innererror: { code: "SecretDisabled" },
    },
  },
  // recordings/browsers/…/recording_can_update_a_disabled_secret.json and
  // recording_cant_get_a_disabled_secret.json: GET /deletedsecrets/{name} of a secret deleted while disabled
  disabledDeletedGet: {
    error: {
      code: "Forbidden",
      message: "Operation get is not permitted on this object.",
      innererror: { code: "AccessDenied" },
    },
  },
};

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const TOKEN = "test-token";
const credential: TokenCredential = {
  getToken: () => Promise.resolve({ token: TOKEN, expiresOnTimestamp: Date.now() + 3600_000 }),
};

function get(url: string, ca: string): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { ca, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function restError(promise: Promise<unknown>): Promise<{ statusCode?: number; code?: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isRestError(error), `expected a RestError, got ${String(error)}`);
    return {
      ...(error.statusCode !== undefined ? { statusCode: error.statusCode } : {}),
      ...(error.code !== undefined ? { code: error.code } : {}),
    };
  }
  assert.fail("expected the call to fail");
}

describe("Key Vault as the real service behaves (emulator, SDK and our store)", () => {
  let tls: DevCertificate;
  let kv: KeyVaultEmulator;
  let client: SecretClient;
  let store: KeyVaultSecretStore;
  const raw = (path: string) => get(`${kv.url}${path}`, tls.cert);
  const deleteAll = async (names: readonly string[]) => {
    for (const name of names) await (await client.beginDeleteSecret(name)).pollUntilDone();
  };

  before(async () => {
    tls = await createDevCertificate();
    kv = await startKeyVaultEmulator({ tls, tenantId: TENANT, authorize: (t) => t === TOKEN });
    client = new SecretClient(
      kv.url,
      credential,
      keyVaultClientOptions({ extraCa: tls.cert, maxRetries: 0 }),
    );
    store = new KeyVaultSecretStore(kv.url, credential, { extraCa: tls.cert, maxRetries: 0 });
  });
  after(() => kv.close());

  test("a window of soft-deleted secrets is an empty page that still carries a nextLink", async () => {
    kv.seed("a-live", "v", {});
    const gone = Array.from({ length: 5 }, (_, i) => `b-gone-${i}`);
    for (const name of gone) kv.seed(name, "v", {});
    kv.seed("c-live", "v", {});
    await deleteAll(gone);

    // On the wire, as recorded (`can list secrets by page`): `{"value":[],"nextLink":"…"}`.
    const pages: { value: { id: string }[]; nextLink: string | null }[] = [];
    let next: string | null = `/secrets?api-version=7.6&maxresults=2`;
    while (next !== null && pages.length < 10) {
      const page = (await raw(next.replace(kv.url, ""))).json as (typeof pages)[number];
      pages.push(page);
      next = page.nextLink;
    }
    const empty = pages.filter((p) => p.value.length === 0);
    assert.ok(empty.length >= 1, "some page is empty");
    assert.ok(
      empty.every((p) => typeof p.nextLink === "string"),
      "an empty page still links on",
    );
    assert.deepEqual(
      pages.flatMap((p) => p.value.map((i) => i.id.split("/").pop())),
      ["a-live", "c-live"],
    );

    // The SDK keeps following it, by item and by page.
    const names: string[] = [];
    for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
    assert.deepEqual(names, ["a-live", "c-live"]);
    let emptyPages = 0;
    for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 2 })) {
      if (page.length === 0) emptyPages += 1;
    }
    assert.ok(emptyPages >= 1);
  });

  test("our store walks past empty default-size pages (allSecrets: sweeps, exports, grants)", async () => {
    // 50 deleted names after a-live: the second window of 25 holds only deleted secrets.
    const gone = Array.from({ length: 50 }, (_, i) => `d-gone-${String(i).padStart(2, "0")}`);
    for (const name of gone) kv.seed(name, "v", {});
    kv.seed("e-live", "v", {});
    await deleteAll(gone);

    const seen: number[] = [];
    let page = await store.listPage(undefined);
    seen.push(page.items.length);
    while (page.next !== undefined && seen.length < 10) {
      page = await store.listPage(page.next);
      seen.push(page.items.length);
    }
    assert.ok(seen.includes(0), `an empty vault page on the way: ${seen.join(",")}`);
    const all: string[] = [];
    for await (const p of allSecrets(store)) all.push(p.name);
    assert.deepEqual(all, ["a-live", "c-live", "e-live"]);
  });

  test("a disabled secret: 403 Forbidden / SecretDisabled as recorded; the store maps it", async () => {
    await client.setSecret("off", "value", { enabled: false });
    const answer = await raw("/secrets/off/?api-version=7.6");
    assert.equal(answer.status, 403);
    assert.deepEqual(answer.json, RECORDED.disabledGet);
    assert.deepEqual(await restError(client.getSecret("off")), { statusCode: 403, code: "Forbidden" });
    await assert.rejects(store.getSecret("off"), SecretDisabledError);
    // Its metadata is still there (listing), so inventory and sweeps see it as disabled.
    assert.equal((await store.getProperties("off")).enabled, false);
  });

  test("deleted while disabled: its deleted form answers 403 AccessDenied; the store finds it listed", async () => {
    await client.setSecret("off-gone", "value", { enabled: false, tags: { kind: "pat" } });
    // The SDK's delete poller takes that 403 as "done" (it exists, unreadable).
    await (await client.beginDeleteSecret("off-gone")).pollUntilDone();
    const answer = await raw("/deletedsecrets/off-gone?api-version=7.6");
    assert.equal(answer.status, 403);
    assert.deepEqual(answer.json, RECORDED.disabledDeletedGet);
    assert.deepEqual(await restError(client.getDeletedSecret("off-gone")), {
      statusCode: 403,
      code: "Forbidden",
    });

    const deleted = await store.getDeletedProperties("OFF-GONE");
    assert.ok(deleted !== undefined);
    assert.equal(deleted.name, "off-gone");
    assert.equal(deleted.enabled, false);
    assert.deepEqual(deleted.tags, { kind: "pat" });
    await assert.rejects(store.setSecret("off-gone", "again", { tags: {} }), SecretDeletedError);
    await store.recoverDeleted("off-gone");
    assert.equal((await store.getProperties("off-gone")).enabled, false);
  });

  test("a real 403 (no permission) on a deleted read stays a refusal, never a guess", async () => {
    kv.resetStats();
    kv.injectFault({ status: 403, count: 1, operation: "getDeletedSecret" });
    const refused = await store.getDeletedProperties("never-there").then(
      () => assert.fail("expected a refusal"),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof VaultRejectedError);
    assert.equal(refused.status, 403);
    assert.ok((kv.stats().byOperation.listDeletedSecrets ?? 0) >= 1, "the deleted listing was asked");
  });

  test("a set on a soft-deleted name: 409 Conflict / ObjectIsDeletedButRecoverable -> SecretDeletedError", async () => {
    await client.setSecret("gone-enabled", "v");
    await deleteAll(["gone-enabled"]);
    const conflict = await restError(client.setSecret("gone-enabled", "again"));
    assert.deepEqual(conflict, { statusCode: 409, code: "Conflict" });
    await assert.rejects(store.setSecret("gone-enabled", "again", { tags: {} }), SecretDeletedError);
    assert.equal((await store.getDeletedProperties("gone-enabled"))?.enabled, true);
  });
});
