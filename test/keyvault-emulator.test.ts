import assert from "node:assert/strict";
import https from "node:https";
import { after, before, describe, test } from "node:test";
import type { TokenCredential } from "@azure/core-auth";
import { isRestError } from "@azure/core-rest-pipeline";
import { SecretClient } from "@azure/keyvault-secrets";
import { createDevCertificate, type DevCertificate } from "../src/local/dev-certificate.js";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "../src/local/emulators/keyvault.js";
import { keyVaultClientOptions } from "../src/vault/key-vault-store.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const tokenCredential = (token: string): TokenCredential => ({
  getToken: () => Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3600_000 }),
});

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

function request(
  url: string,
  ca: string,
  method: string,
  body?: unknown,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, body: text }),
      );
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe("Key Vault emulator through the real SecretClient", () => {
  let tls: DevCertificate;
  let kv: KeyVaultEmulator;
  let client: SecretClient;
  const client$ = (token = "test-token", maxRetries = 0) =>
    new SecretClient(
      kv.url,
      tokenCredential(token),
      keyVaultClientOptions({ extraCa: tls.cert, maxRetries }),
    );

  const call = (method: string, path: string, body?: unknown) =>
    request(`${kv.url}${path}`, tls.cert, method, body);

  before(async () => {
    tls = await createDevCertificate();
    kv = await startKeyVaultEmulator({ tls, tenantId: TENANT, authorize: (t) => t === "test-token" });
    client = client$();
  });
  after(() => kv.close());

  test("answers the bearer challenge and refuses a token it does not accept", async () => {
    const anonymous = await call("GET", "/secrets/x/?api-version=7.6");
    assert.equal(anonymous.status, 401);
    assert.equal(
      anonymous.headers["www-authenticate"],
      `Bearer authorization="https://login.microsoftonline.com/${TENANT}", resource="https://vault.azure.net"`,
    );
    const refused = await restError(client$("wrong-token").getSecret("anything"));
    assert.equal(refused.statusCode, 401);
  });

  test("set, get latest and by version, update tags and enabled", async () => {
    const first = await client.setSecret("pat-a", "value-1", {
      tags: { kind: "pat" },
      contentType: "text/plain",
    });
    const second = await client.setSecret("pat-a", "value-2", {
      expiresOn: new Date("2030-01-01T00:00:00Z"),
    });
    assert.match(second.properties.version ?? "", /^[0-9a-f]{32}$/);
    assert.notEqual(first.properties.version, second.properties.version);
    assert.equal((await client.getSecret("pat-a")).value, "value-2");
    assert.equal(
      (await client.getSecret("pat-a", { version: first.properties.version ?? "" })).value,
      "value-1",
    );
    assert.equal((await client.getSecret("PAT-A")).value, "value-2", "names are case-insensitive");
    const updated = await client.updateSecretProperties("pat-a", second.properties.version ?? "", {
      tags: { owner: "team" },
    });
    assert.deepEqual(updated.tags, { owner: "team" });
    assert.equal(updated.expiresOn?.toISOString(), "2030-01-01T00:00:00.000Z", "unspecified attributes stay");
    await client.updateSecretProperties("pat-a", second.properties.version ?? "", { enabled: false });
    const disabled = await restError(client.getSecret("pat-a"));
    assert.equal(disabled.statusCode, 403);
    assert.equal(disabled.code, "Forbidden");
    assert.equal((await restError(client.getSecret("missing"))).statusCode, 404);
  });

  test("lists 30 secrets in pages of 10 with every name exactly once, and versions", async () => {
    for (let i = 0; i < 30; i++) await client.setSecret(`page-${String(i).padStart(2, "0")}`, `v${i}`);
    const names: string[] = [];
    let pages = 0;
    for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 10 })) {
      pages += 1;
      for (const p of page) if (p.name.startsWith("page-")) names.push(p.name);
    }
    assert.equal(names.length, 30);
    assert.equal(new Set(names).size, 30);
    assert.ok(pages >= 3);
    const versions: string[] = [];
    for await (const v of client.listPropertiesOfSecretVersions("pat-a")) versions.push(v.version ?? "");
    assert.equal(versions.length, 2);
  });

  test("soft delete, recover, purge and a set on a deleted name", async () => {
    await client.setSecret("to-delete", "v");
    const poller = await client.beginDeleteSecret("to-delete");
    const deleted = await poller.pollUntilDone();
    assert.equal(deleted.name, "to-delete");
    assert.ok((await client.getDeletedSecret("to-delete")).recoveryId);
    const listed: string[] = [];
    for await (const d of client.listDeletedSecrets()) listed.push(d.name);
    assert.ok(listed.includes("to-delete"));
    const conflict = await restError(client.setSecret("to-delete", "again"));
    assert.equal(conflict.statusCode, 409);
    assert.equal(conflict.code, "Conflict");
    const recover = await client.beginRecoverDeletedSecret("to-delete");
    await recover.pollUntilDone();
    assert.equal((await client.getSecret("to-delete")).value, "v");
    await (await client.beginDeleteSecret("to-delete")).pollUntilDone();
    await client.purgeDeletedSecret("to-delete");
    assert.equal((await restError(client.getDeletedSecret("to-delete"))).statusCode, 404);
    await client.setSecret("to-delete", "fresh");
  });

  test("limits: bad names and oversized values are 400", async () => {
    assert.equal((await restError(client.setSecret("bad_name", "v"))).statusCode, 400);
    assert.equal((await restError(client.setSecret("big", "x".repeat(26 * 1024)))).statusCode, 400);
  });

  test("the control API takes faults over HTTP and validates them", async () => {
    assert.equal((await call("POST", "/_emulator/faults", { status: 418, count: 1 })).status, 400);
    assert.equal(
      (await call("POST", "/_emulator/faults", { status: 503, count: 1, operation: "listSecrets" })).status,
      204,
    );
    await client.setSecret("unaffected", "v");
    const listing = await restError(client.listPropertiesOfSecrets().byPage().next());
    assert.equal(listing.statusCode, 503);
    const stats = await call("GET", "/_emulator/stats");
    assert.equal(stats.status, 200);
    assert.ok((JSON.parse(stats.body) as { requests: number }).requests > 0);
  });

  test("injected throttling: retried with Retry-After, immediate failure without retries", async () => {
    await client.setSecret("throttled", "v");
    kv.injectFault({ status: 429, count: 1, retryAfterSeconds: 1 });
    const retrying = client$("test-token", 3);
    assert.equal((await retrying.getSecret("throttled")).value, "v");
    kv.injectFault({ status: 503, count: 1 });
    assert.equal((await restError(client.getSecret("throttled"))).statusCode, 503);
    const stats = kv.stats();
    assert.ok((stats.byOperation.getSecret ?? 0) >= 3);
    kv.resetStats();
    assert.equal(kv.stats().requests, 0);
  });
});
