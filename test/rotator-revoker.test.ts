import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InventoryError } from "../src/inventory/inventory-error.js";
import { TAG, toItem, type InventoryItem } from "../src/inventory/managed-credential.js";
import { formatPending } from "../src/inventory/pending-revoke.js";
import { RotationError } from "../src/rotation/rotation-error.js";
import type { Rotator } from "../src/rotation/rotator.js";
import { RotatorRevoker } from "../src/rotation/rotator-revoker.js";

const NOW = Date.parse("2026-12-02T00:00:00Z");
const id = (n: number) => `${String(n).padStart(8, "0")}-1111-4222-8333-444455556666`;

function item(tags: Record<string, string>): InventoryItem {
  const found = toItem(
    {
      name: "cred",
      version: "v1",
      enabled: true,
      contentType: undefined,
      expiresOn: new Date(NOW + 30 * 86_400_000),
      createdOn: undefined,
      updatedOn: undefined,
      tags: { [TAG.managedBy]: "token-broker", ...tags },
    },
    { now: NOW, noticeDays: 7 },
  );
  assert.ok(found !== undefined);
  return found;
}

/** The upstream port (Azure DevOps or Graph behind a rotator): records revocations, answers per id. */
function upstream(answer: (id: string) => "revoked" | "not-found" | Error = () => "revoked") {
  const revoked: string[] = [];
  const rotator: Rotator = {
    upstreamIdTag: TAG.keyId,
    create: () => Promise.reject(new Error("not used")),
    marked: () => Promise.resolve([]),
    revoke: (_tags, upstreamId) => {
      revoked.push(upstreamId);
      const outcome = answer(upstreamId);
      return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
    },
  };
  return { revoked, rotator };
}

describe("RotatorRevoker", () => {
  const secretTags = (extra: Record<string, string> = {}) => ({
    [TAG.kind]: "client-secret",
    [TAG.keyId]: id(1),
    ...extra,
  });

  test("a kind without a rotator (refresh token) is not applicable", async () => {
    const { revoked, rotator } = upstream();
    const tags = { [TAG.kind]: "refresh-token" };
    assert.equal(
      await new RotatorRevoker({ "client-secret": rotator }).revoke(item(tags), tags),
      "not-applicable",
    );
    assert.deepEqual(revoked, []);
  });

  test("nothing recorded upstream is not applicable", async () => {
    const { rotator } = upstream();
    const tags = { [TAG.kind]: "client-secret" };
    assert.equal(
      await new RotatorRevoker({ "client-secret": rotator }).revoke(item(tags), tags),
      "not-applicable",
    );
  });

  test("the current id, the predecessors in their grace and the proven secret all go", async () => {
    const { revoked, rotator } = upstream();
    const tags = secretTags({
      [TAG.pendingRevoke]: formatPending([{ id: id(2), after: NOW }]) ?? "",
      [TAG.verifyPending]: `2026-12-01T00:00:00Z v0 ${id(3)}`,
    });
    assert.equal(await new RotatorRevoker({ "client-secret": rotator }).revoke(item(tags), tags), "revoked");
    assert.deepEqual(revoked, [id(2), id(3), id(1)]);
  });

  test("revoked only for what was removed now: the current id decides", async () => {
    const { rotator } = upstream((x) => (x === id(1) ? "not-found" : "revoked"));
    const tags = secretTags({ [TAG.pendingRevoke]: formatPending([{ id: id(2), after: NOW }]) ?? "" });
    assert.equal(
      await new RotatorRevoker({ "client-secret": rotator }).revoke(item(tags), tags),
      "not-found",
    );
  });

  test("a PAT without one organization cannot be revoked by the broker", async () => {
    const { revoked, rotator } = upstream();
    const orgs: Record<string, string>[] = [{}, { [TAG.organization]: "*" }];
    for (const org of orgs) {
      const tags = { [TAG.kind]: "pat", [TAG.keyId]: id(1), ...org };
      assert.equal(await new RotatorRevoker({ pat: rotator }).revoke(item(tags), tags), "not-configured");
    }
    assert.deepEqual(revoked, []);
  });

  test("rotation errors: no grant is not configured, ownership stays, upstream trouble is 503 or 502", async () => {
    const revokeWith = (error: Error) => {
      const { rotator } = upstream(() => error);
      return new RotatorRevoker({ "client-secret": rotator }).revoke(item(secretTags()), secretTags());
    };
    assert.equal(await revokeWith(new RotationError("no_rotator_grant", false)), "not-configured");
    await assert.rejects(revokeWith(new RotationError("password_not_ours", false)), (e: unknown) => {
      return e instanceof RotationError && e.code === "password_not_ours";
    });
    await assert.rejects(revokeWith(new RotationError("secret_verify_unavailable", true)), (e: unknown) => {
      return e instanceof InventoryError && e.code === "revocation_unavailable";
    });
    await assert.rejects(revokeWith(new RotationError("new_pat_not_accepted", false)), (e: unknown) => {
      return e instanceof InventoryError && e.code === "revocation_failed";
    });
  });

  test("anything else is a bug and propagates as it is", async () => {
    const { rotator } = upstream(() => new TypeError("bug"));
    await assert.rejects(
      new RotatorRevoker({ "client-secret": rotator }).revoke(item(secretTags()), secretTags()),
      TypeError,
    );
  });
});
