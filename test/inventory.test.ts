import assert from "node:assert/strict";
import { test } from "node:test";
import { Inventory } from "../src/inventory/inventory.js";
import { LeaseBusyError } from "../src/lease/lease-busy.js";
import { ProcessLeaseProvider } from "../src/lease/lease.js";
import { ROTATION_LEASE } from "../src/rotation/rotation-lease.js";
import {
  SecretNotFoundError,
  type SecretProperties,
  type SecretStore,
  type SecretWrite,
} from "../src/vault/secret-store.js";

const NOW = Date.parse("2026-11-26T03:00:00Z");

/**
 * A vault with no secrets that records every call: enough for a first import and a removal of
 * something absent, and it shows whether the vault was touched at all.
 */
function recordingVault(): { store: SecretStore; calls: string[] } {
  const calls: string[] = [];
  const notFound = () => Promise.reject(new SecretNotFoundError());
  const store: SecretStore = {
    getSecret: (name) => (calls.push(`getSecret ${name}`), notFound()),
    getProperties: (name) => (calls.push(`getProperties ${name}`), notFound()),
    listPage: () => (calls.push("listPage"), Promise.resolve({ items: [], next: undefined })),
    isOwnContinuation: () => true,
    listVersions: (name) => (calls.push(`listVersions ${name}`), Promise.resolve([])),
    setSecret: (name: string, _value: string, write: SecretWrite): Promise<SecretProperties> => {
      calls.push(`setSecret ${name}`);
      return Promise.resolve({
        name,
        version: "v1",
        enabled: true,
        contentType: write.contentType,
        expiresOn: write.expiresOn,
        createdOn: new Date(NOW),
        updatedOn: new Date(NOW),
        tags: write.tags,
      });
    },
    updateProperties: (name) => (calls.push(`updateProperties ${name}`), notFound()),
    deleteSecret: (name) => (calls.push(`deleteSecret ${name}`), Promise.resolve({ recoverableDays: 90 })),
    getDeletedProperties: (name) => (calls.push(`getDeletedProperties ${name}`), Promise.resolve(undefined)),
    recoverDeleted: (name) => (calls.push(`recoverDeleted ${name}`), Promise.resolve()),
  };
  return { store, calls };
}

function inventoryOver(store: SecretStore, leases: ProcessLeaseProvider): Inventory {
  return new Inventory({
    store,
    leases,
    revoker: { revoke: () => Promise.resolve("not-applicable") },
    checkPat: () => assert.fail("the import sends verify: false"),
    now: () => NOW,
    noticeDays: [7],
  });
}

const IMPORT = {
  kind: "pat",
  value: "a-pat-value",
  owner: "team-a",
  organization: "contoso",
  expiresOn: new Date(NOW + 30 * 24 * 3600_000).toISOString(),
  verify: false,
} as const;

test("a write while a sweep holds the rotation lease is refused as LeaseBusyError and touches nothing", async () => {
  const leases = new ProcessLeaseProvider();
  const { store, calls } = recordingVault();
  const inventory = inventoryOver(store, leases);
  const sweep = await leases.tryAcquire(ROTATION_LEASE);
  assert.ok(sweep !== undefined);
  for (const write of [
    () => inventory.put("pat-a", IMPORT, { recover: false }),
    () => inventory.remove("pat-a", { skipUpstream: true }),
  ]) {
    const error = await write().catch((e: unknown) => e);
    assert.ok(error instanceof LeaseBusyError, String(error));
    assert.equal(error.lease, ROTATION_LEASE);
  }
  assert.deepEqual(calls, [], "the vault was not read or written");
  // Reads do not need the lease.
  assert.deepEqual(await inventory.list({}, 10, undefined), { items: [], continuation: null });
  await sweep.release();
});

test("with the lease free a write goes to the vault, and the lease is released after it", async () => {
  const leases = new ProcessLeaseProvider();
  const { store, calls } = recordingVault();
  const inventory = inventoryOver(store, leases);
  const { item, created } = await inventory.put("pat-a", IMPORT, { recover: false });
  assert.equal(created, true);
  assert.equal(item.name, "pat-a");
  assert.ok(calls.includes("setSecret pat-a"), calls.join(", "));
  // A refused write releases it too.
  await assert.rejects(inventory.remove("pat-gone", { skipUpstream: true }), { name: "InventoryError" });
  const next = await leases.tryAcquire(ROTATION_LEASE);
  assert.ok(next !== undefined, "released after each write");
  await next.release();
});
