import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { randomPat } from "../src/local/sample-data.js";
import { keyVaultClientOptions } from "../src/vault/key-vault-store.js";
import { callerToken, knownPat, logsContain, startTestStack, type TestStack } from "./support/dev-stack.js";

const DAY = 24 * 3600_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const tags = (owner: string) => ({ "managed-by": "token-broker", kind: "pat", owner });

interface Problem {
  status: number;
  code: string;
}
interface Page {
  items: { name: string; status: string; enabled: boolean }[];
  continuation: string | null;
}

/** The inventory over a vault that behaves as the real one: disabled-then-deleted names, empty pages. */
describe("inventory over Key Vault's real behaviour", () => {
  let stack: TestStack;
  let vault: SecretClient;
  let admin: string;
  let ops: string;
  const canaries: string[] = [];

  const call = (path: string, token: string, init: RequestInit = {}) =>
    stack.api(path, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      },
    });
  const pat = () => {
    const value = knownPat(stack);
    canaries.push(value);
    return {
      kind: "pat",
      value,
      expiresOn: inDays(30),
      owner: "team-a@contoso.com",
      organization: "contoso",
    };
  };
  const put = (name: string, body: unknown, query = "") =>
    call(`/inventory/${name}${query}`, admin, { method: "PUT", body: JSON.stringify(body) });

  before(async () => {
    stack = await startTestStack();
    vault = new SecretClient(
      stack.keyVault.url,
      new ManagedIdentityCredential({ clientId: stack.identities.control.clientId }),
      keyVaultClientOptions({ extraCa: readFileSync(stack.caFile, "utf8"), maxRetries: 0 }),
    );
    [admin, ops] = await Promise.all([callerToken(stack, "dev-admin"), callerToken(stack, "dev-ops")]);
  });
  after(async () => {
    await stack.close();
  });

  test("PUT on a name soft-deleted while disabled: 409 credential_deleted, then ?recover=true updates it", async () => {
    assert.equal((await put("pat-off-gone", pat())).status, 201);
    const created = await vault.getSecret("pat-off-gone");
    await vault.updateSecretProperties("pat-off-gone", created.properties.version ?? "", { enabled: false });
    const shown = (await (await call("/inventory/pat-off-gone", ops)).json()) as Page["items"][number];
    assert.equal(shown.status, "disabled");
    const removed = await call("/inventory/pat-off-gone", admin, { method: "DELETE" });
    assert.equal(removed.status, 200, await removed.text());
    // Its deleted form now answers 403 AccessDenied, as the real vault does (once a 500).
    const again = await put("pat-off-gone", pat());
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as Problem).code, "credential_deleted");
    const mismatch = await put(
      "pat-off-gone",
      {
        kind: "refresh-token",
        value: pat().value,
        owner: "team-a@contoso.com",
        clientId: "a1b2c3d4-0000-4000-8000-0000000000f0",
        lastRedeemed: new Date().toISOString(),
      },
      "?recover=true",
    );
    assert.equal(mismatch.status, 409);
    assert.equal(((await mismatch.json()) as Problem).code, "kind_mismatch");

    const recovered = await put("pat-off-gone", pat(), "?recover=true");
    assert.equal(recovered.status, 200, await recovered.text());
    const item = (await (await call("/inventory/pat-off-gone", ops)).json()) as Page["items"][number];
    assert.equal(item.status, "active");
    assert.equal(item.enabled, true);
  });

  test("an unmanaged secret soft-deleted while disabled is still left alone (409 name_in_use)", async () => {
    await vault.setSecret("db-off-gone", "not ours", { enabled: false });
    await (await vault.beginDeleteSecret("db-off-gone")).pollUntilDone();
    const res = await put("db-off-gone", pat(), "?recover=true");
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as Problem).code, "name_in_use");
    await assert.rejects(
      vault.getSecret("db-off-gone"),
      (e: { statusCode?: number }) => e.statusCode === 404,
    );
  });

  test("listing pages walk past vault pages that come back empty (a window of soft-deleted secrets)", async () => {
    const names = Array.from({ length: 30 }, (_, i) => `gap-${String(i).padStart(2, "0")}`);
    for (const name of names) {
      const value = randomPat();
      canaries.push(value);
      await vault.setSecret(name, value, {
        tags: tags("gaps@contoso.com"),
        expiresOn: new Date(Date.now() + 30 * DAY),
      });
    }
    // 26 in a row deleted: one window of 25 holds nothing but soft-deleted secrets.
    for (const name of names.slice(1, 27)) await (await vault.beginDeleteSecret(name)).pollUntilDone();
    const live = [names[0] ?? "", ...names.slice(27)];

    const seen: string[] = [];
    let continuation: string | null = null;
    let calls = 0;
    do {
      const query = `?owner=gaps%40contoso.com&top=2${continuation !== null ? `&continuation=${encodeURIComponent(continuation)}` : ""}`;
      const res = await call(`/inventory${query}`, ops);
      assert.equal(res.status, 200);
      const page = (await res.json()) as Page;
      seen.push(...page.items.map((i) => i.name));
      continuation = page.continuation;
      calls += 1;
    } while (continuation !== null && calls < 20);
    assert.deepEqual(seen, live);

    const one = (await (await call("/inventory?owner=gaps%40contoso.com&top=100", ops)).json()) as Page;
    assert.deepEqual(
      one.items.map((i) => i.name),
      live,
      "one call reads on until the page is full or the vault ends",
    );
    assert.equal(one.continuation, null);
    const csv = await (await call("/inventory?format=csv&owner=gaps%40contoso.com", ops)).text();
    for (const name of live) assert.ok(csv.includes(name), name);
    assert.deepEqual(logsContain(stack.logs, canaries), []);
  });
});
