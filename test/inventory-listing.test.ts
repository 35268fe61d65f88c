import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { TokenCredential } from "@azure/identity";
import { createDevCertificate, type DevCertificate } from "../src/local/dev-certificate.js";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "../src/local/emulators/keyvault.js";
import { InventoryListing, type InventoryFilter } from "../src/inventory/inventory-listing.js";
import { TAG, type InventoryItem } from "../src/inventory/managed-credential.js";
import { ProcessLeaseProvider } from "../src/lease/lease.js";
import { RotatorRevoker } from "../src/rotation/rotator-revoker.js";
import { KeyVaultSecretStore } from "../src/vault/key-vault-store.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const DAY = 24 * 3600_000;
const NOW = Date.now();
const tokenCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: "test-token", expiresOnTimestamp: Date.now() + 3600_000 }),
};

/** InventoryListing over the Key Vault emulator through the real KeyVaultSecretStore (real paging). */
describe("InventoryListing against the Key Vault emulator", () => {
  let tls: DevCertificate;
  let kv: KeyVaultEmulator;
  let listing: InventoryListing;
  // 30 managed secrets: more than one vault page (the emulator's pages hold 25).
  const managed: string[] = [];

  const collect = async (filter: InventoryFilter, top: number) => {
    const names: string[] = [];
    const pages: InventoryItem[][] = [];
    let continuation: string | undefined;
    for (let i = 0; i < 50; i++) {
      const page = await listing.list(filter, top, continuation);
      assert.ok(page.items.length <= top);
      pages.push(page.items);
      names.push(...page.items.map((item) => item.name));
      if (page.continuation === null) return { names, pages };
      continuation = page.continuation;
    }
    assert.fail("the listing did not end");
  };

  before(async () => {
    tls = await createDevCertificate();
    kv = await startKeyVaultEmulator({ tls, tenantId: TENANT, authorize: (t) => t === "test-token" });
    const store = new KeyVaultSecretStore(kv.url, tokenCredential, { extraCa: tls.cert, maxRetries: 0 });
    listing = new InventoryListing({
      store,
      leases: new ProcessLeaseProvider(),
      revoker: new RotatorRevoker({}),
      checkPat: () => assert.fail("a listing checks no PAT"),
      now: () => NOW,
      noticeDays: [7],
    });
    for (let i = 0; i < 30; i++) {
      const name = `cred-${String(i).padStart(2, "0")}`;
      managed.push(name);
      const pat = i % 3 !== 0;
      await store.setSecret(name, `value-${i}`, {
        // Every fifth expires within the notice window; the rest in 60 days.
        expiresOn: new Date(NOW + (i % 5 === 0 ? 3 : 60) * DAY),
        tags: {
          [TAG.managedBy]: "token-broker",
          [TAG.kind]: pat ? "pat" : "client-secret",
          [TAG.owner]: i % 2 === 0 ? "Team-A@contoso.com" : "team-b@contoso.com",
        },
      });
    }
    // Not the broker's: no managed-by tag, or a kind it does not know. Never listed.
    await store.setSecret("cred-05x-foreign", "x", { tags: { [TAG.kind]: "pat" } });
    await store.setSecret("cred-17x-other", "x", {
      tags: { [TAG.managedBy]: "token-broker", [TAG.kind]: "certificate" },
    });
  });
  after(() => kv.close());

  test("pages through every managed secret once, in order, across vault pages; foreign ones never", async () => {
    for (const top of [1, 4, 7, 30, 100]) {
      const { names } = await collect({}, top);
      assert.deepEqual(names, managed, `top ${top}`);
    }
    const all = await listing.listAll({});
    assert.deepEqual(
      all.map((item) => item.name),
      managed,
    );
  });

  test("a page stops at top and its continuation resumes after the last item", async () => {
    const first = await listing.list({}, 4, undefined);
    assert.deepEqual(
      first.items.map((i) => i.name),
      managed.slice(0, 4),
    );
    assert.ok(first.continuation !== null);
    const second = await listing.list({}, 4, first.continuation);
    assert.deepEqual(
      second.items.map((i) => i.name),
      managed.slice(4, 8),
    );
  });

  test("filters by kind, owner (case-insensitive), status and expiry window, also across pages", async () => {
    const pats = managed.filter((_, i) => i % 3 !== 0);
    assert.deepEqual((await collect({ kind: "pat" }, 3)).names, pats);
    const secrets = managed.filter((_, i) => i % 3 === 0);
    assert.deepEqual((await collect({ kind: "client-secret" }, 2)).names, secrets);
    const teamA = managed.filter((_, i) => i % 2 === 0);
    assert.deepEqual((await collect({ owner: "team-a@CONTOSO.com" }, 5)).names, teamA);
    const soon = managed.filter((_, i) => i % 5 === 0);
    assert.deepEqual((await collect({ status: "expiring" }, 2)).names, soon);
    assert.deepEqual((await collect({ expiringWithinDays: 10 }, 2)).names, soon);
    assert.deepEqual((await collect({ expiringWithinDays: 1 }, 2)).names, []);
    const both = managed.filter((_, i) => i % 3 !== 0 && i % 5 === 0 && i % 2 === 0);
    assert.deepEqual(
      (await collect({ kind: "pat", status: "expiring", owner: "team-a@contoso.com" }, 1)).names,
      both,
    );
    const item = (await listing.list({ kind: "pat" }, 1, undefined)).items[0];
    assert.ok(item !== undefined);
    assert.equal(item.status, "active");
    assert.equal(item.owner, "team-b@contoso.com");
  });

  test("a continuation not from this listing is refused", async () => {
    await assert.rejects(listing.list({}, 5, "not-a-continuation"));
  });
});
