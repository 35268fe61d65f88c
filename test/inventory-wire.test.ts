import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  inventoryItemWire,
  inventoryPageWire,
  removeResultWire,
  rotateOutcomeWire,
  versionsWire,
} from "../src/inventory/wire.js";

/** A copy without one field. */
function without(value: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...value };
  Reflect.deleteProperty(copy, key);
  return copy;
}

const item = {
  name: "pat-feed",
  kind: "pat",
  owner: null,
  organization: "contoso",
  scopes: ["vso.packaging"],
  expiresOn: "2027-01-01T00:00:00.000Z",
  daysLeft: 30,
  status: "active",
  rotation: "manual",
  rotatedOn: null,
  version: null,
  enabled: true,
  createdOn: null,
  updatedOn: null,
  warnings: [],
};

describe("inventory wire schemas (what the CLI accepts from a broker)", () => {
  test("an item parses, and fields a newer broker adds are kept", () => {
    const parsed = inventoryItemWire.parse({ ...item, futureField: 1 });
    assert.equal(parsed.name, "pat-feed");
    assert.equal((parsed as Record<string, unknown>)["futureField"], 1);
    assert.deepEqual(inventoryPageWire.parse({ items: [item], continuation: null }).items.length, 1);
  });

  test("an item with an unknown kind or status, a bad date or a fractional day count is refused", () => {
    for (const bad of [
      { kind: "password" },
      { status: "fine" },
      { expiresOn: "soon" },
      { daysLeft: 1.5 },
      { scopes: "vso.packaging" },
    ]) {
      assert.equal(inventoryItemWire.safeParse({ ...item, ...bad }).success, false, JSON.stringify(bad));
    }
    assert.equal(inventoryItemWire.safeParse(without(item, "name")).success, false);
  });

  test("a removal must say deleted; any upstream revocation word is shown", () => {
    const removed = { name: "x", deleted: true, upstreamRevocation: "revoked-later", recoverableDays: 90 };
    assert.equal(removeResultWire.safeParse(removed).success, true);
    assert.equal(removeResultWire.safeParse({ ...removed, deleted: false }).success, false);
    assert.equal(removeResultWire.safeParse({ ...removed, upstreamRevocation: "" }).success, false);
  });

  test("a rotation answer from an older broker (no status) means rotated", () => {
    assert.equal(rotateOutcomeWire.parse({ name: "x", version: "v2" }).status, "rotated");
    assert.equal(
      rotateOutcomeWire.parse({ name: "x", version: "v2", status: "pending-verification" }).status,
      "pending-verification",
    );
    assert.equal(rotateOutcomeWire.safeParse({ name: "x", version: "v2", status: "done" }).success, false);
  });

  test("versions carry which one is current", () => {
    const v = {
      version: "v1",
      enabled: true,
      expiresOn: null,
      createdOn: null,
      updatedOn: null,
      current: true,
    };
    assert.equal(versionsWire.safeParse({ items: [v] }).success, true);
    assert.equal(versionsWire.safeParse({ items: [without(v, "current")] }).success, false);
  });
});
