import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { readFileSync } from "node:fs";
import { manyPats } from "../src/local/sample-data.js";
import { keyVaultClientOptions } from "../src/vault/key-vault-store.js";
import { callerToken, startTestStack, type TestStack } from "./support/dev-stack.js";

const DAY = 24 * 3600_000;

/** Issue 5 §9: a sweep over N credentials reads the vault in ⌈N/25⌉ pages plus a constant per rotation. */
describe("rotation sweep cost over 1,000 credentials", () => {
  let stack: TestStack;
  let admin: string;
  let total = 0;

  before(async () => {
    stack = await startTestStack();
    admin = await callerToken(stack, "dev-admin");
    const vault = new SecretClient(
      stack.keyVault.url,
      new ManagedIdentityCredential({ clientId: stack.identities.control.clientId }),
      keyVaultClientOptions({ extraCa: readFileSync(stack.caFile, "utf8"), maxRetries: 0 }),
    );
    for (const p of manyPats(1000)) stack.keyVault.seed(p.name, p.value, p);
    const names: string[] = [];
    for await (const secret of vault.listPropertiesOfSecrets()) names.push(secret.name);
    total = names.length;
  });
  after(async () => {
    await stack.close();
  });

  const call = (path: string, method: string, body?: unknown) =>
    stack.api(path, {
      method,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  test("nothing due: exactly ⌈N/25⌉ list pages and the drift state (the grant's token is cached)", async () => {
    await call("/sweeps/rotation", "POST"); // warms the grant's access token, rotates the due sample PAT
    stack.keyVault.resetStats();
    const res = await call("/sweeps/rotation", "POST");
    assert.equal(res.status, 200);
    const stats = stack.keyVault.stats();
    assert.equal(stats.byOperation.listSecrets, Math.ceil(total / 25));
    // Drift reuses the sweep's listing; it reads which findings were notified (one secret).
    assert.equal(stats.requests, Math.ceil(total / 25) + 1);
  });

  test("two due: a constant number of vault calls per rotated credential", async () => {
    for (const name of ["cost-a", "cost-b"]) {
      const made = await call(`/inventory/${name}`, "PUT", {
        kind: "pat",
        owner: "team@contoso.com",
        organization: "contoso",
        scopes: ["vso.code"],
        rotation: "auto",
        lifetimeDays: 30,
      });
      assert.equal(made.status, 201);
      const due = await call(`/inventory/${name}`, "PUT", {
        kind: "pat",
        expiresOn: new Date(Date.now() + 3 * DAY).toISOString(),
      });
      assert.equal(due.status, 200);
    }
    stack.keyVault.resetStats();
    const res = await call("/sweeps/rotation", "POST");
    const report = (await res.json()) as { rotated: unknown[] };
    assert.equal(report.rotated.length, 2);
    const stats = stack.keyVault.stats();
    const pages = Math.ceil((total + 2) / 25);
    assert.equal(stats.byOperation.listSecrets, pages);
    // Per rotation: read the current version, write the new one, read it back; then the creation
    // notice's record on that version (read its properties, update its tags).
    assert.equal(stats.requests - pages, 2 * 5 + 1, "and the drift state: one read");
  });
});
