import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { InventoryError } from "../src/inventory/inventory-error.js";
import { TAG } from "../src/inventory/managed-credential.js";
import { parsePending } from "../src/inventory/pending-revoke.js";
import { rotateNow } from "../src/rotation/rotate-now.js";
import { RotationError } from "../src/rotation/rotation-error.js";
import { ROTATION_LEASE } from "../src/rotation/rotation-lease.js";
import { DAY, MINUTE, startRotationFixture, type RotationFixture } from "./support/rotation-fixture.js";

const GRACE_MINUTES = 60;

/**
 * rotateNow() with a real ClientSecretRotator against the Key Vault, Graph and Entra emulators:
 * a named credential rotates whatever its date, unknown or unmanaged names are not_found, a kind
 * without a rotator is kind_not_rotatable, and a held rotation lease does nothing.
 */
describe("rotate now against the Key Vault, Graph and Entra emulators", () => {
  let f: RotationFixture;
  before(async () => {
    f = await startRotationFixture(365 * DAY);
  });
  after(async () => {
    await f.close();
  });

  test("rotates a credential not due, and revokes what waited out its grace first", async () => {
    const old = await f.rotator.create("now-a", f.tags(), f.ctx.step);
    await f.store.setSecret("now-a", old.value, {
      expiresOn: new Date(f.clock.now + 80 * DAY),
      tags: f.tags({ [TAG.keyId]: old.upstreamId, [TAG.rotation]: "manual" }),
    });

    const first = await rotateNow(f.ctx, "now-a");
    assert.ok(first.acquired);
    assert.equal(first.value.status, "rotated");
    const rotated = await f.store.getSecret("now-a");
    assert.equal(rotated.version, first.value.version);
    assert.notEqual(rotated.value, old.value);
    const newId = rotated.tags[TAG.keyId] ?? "";
    assert.notEqual(newId, old.upstreamId);
    assert.ok(f.keyIds().includes(newId), "the new password exists upstream");
    assert.ok(f.keyIds().includes(old.upstreamId), "the replaced password lives through its grace");
    assert.deepEqual(
      parsePending(rotated.tags[TAG.pendingRevoke]).map((p) => p.id),
      [old.upstreamId],
    );

    // Past the grace, a second rotation first removes the first replaced password.
    f.clock.now += (GRACE_MINUTES + 1) * MINUTE;
    const second = await rotateNow(f.ctx, "now-a");
    assert.ok(second.acquired);
    assert.equal(second.value.status, "rotated");
    const again = await f.store.getSecret("now-a");
    assert.ok(!f.keyIds().includes(old.upstreamId), "the first replaced password is revoked");
    assert.ok(f.keyIds().includes(newId), "the second replaced password lives through its grace");
    assert.deepEqual(
      parsePending(again.tags[TAG.pendingRevoke]).map((p) => p.id),
      [newId],
    );
    const log = f.logLines.join("\n");
    assert.ok(![old.value, rotated.value, again.value].some((v) => log.includes(v)), "no value logged");
  });

  test("an unknown or unmanaged name is not_found", async () => {
    await f.store.setSecret("now-unmanaged", "not-ours", { tags: { [TAG.kind]: "client-secret" } });
    for (const name of ["now-missing", "now-unmanaged"]) {
      await assert.rejects(
        rotateNow(f.ctx, name),
        (e: unknown) => e instanceof InventoryError && e.code === "not_found",
        name,
      );
    }
    // The lease went back: a later call gets it.
    const held = await f.leases.tryAcquire(ROTATION_LEASE);
    assert.ok(held !== undefined);
    await held.release();
  });

  test("a kind without a rotator is kind_not_rotatable and left unchanged", async () => {
    await f.store.setSecret("now-pat", "pat-value", {
      tags: { [TAG.managedBy]: "token-broker", [TAG.kind]: "pat", [TAG.owner]: "team-a@contoso.com" },
    });
    const before = await f.store.getProperties("now-pat");
    await assert.rejects(
      rotateNow(f.ctx, "now-pat"),
      (e: unknown) => e instanceof RotationError && e.code === "kind_not_rotatable",
    );
    assert.equal((await f.store.getProperties("now-pat")).version, before.version);
  });

  test("while another holds the rotation lease nothing is rotated", async () => {
    const old = await f.rotator.create("now-held", f.tags(), f.ctx.step);
    await f.store.setSecret("now-held", old.value, {
      tags: f.tags({ [TAG.keyId]: old.upstreamId, [TAG.rotation]: "auto" }),
    });
    const before = await f.store.getProperties("now-held");
    const ids = f.keyIds();
    const held = await f.leases.tryAcquire(ROTATION_LEASE);
    assert.ok(held !== undefined);
    try {
      const outcome = await rotateNow(f.ctx, "now-held");
      assert.equal(outcome.acquired, false);
    } finally {
      await held.release();
    }
    assert.equal((await f.store.getProperties("now-held")).version, before.version);
    assert.deepEqual(f.keyIds(), ids, "nothing created upstream");
    assert.ok((await rotateNow(f.ctx, "now-held")).acquired);
  });
});
