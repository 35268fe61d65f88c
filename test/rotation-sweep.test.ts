import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TAG } from "../src/inventory/managed-credential.js";
import { parsePending } from "../src/inventory/pending-revoke.js";
import { ROTATION_LEASE } from "../src/rotation/rotation-lease.js";
import { sweep } from "../src/rotation/rotation-sweep.js";
import {
  DAY,
  MINUTE,
  SEEDED_KEY,
  startRotationFixture,
  type RotationFixture,
} from "./support/rotation-fixture.js";

const GRACE_MINUTES = 60;

/**
 * sweep() over the Key Vault emulator (real KeyVaultSecretStore and its paging) with a real
 * ClientSecretRotator against the Graph and Entra emulators: what is due rotates, what waited out
 * its grace is revoked, the rest is left alone, and a held lease skips the sweep.
 */
describe("rotation sweep against the Key Vault, Graph and Entra emulators", () => {
  let fx: RotationFixture;
  const step = () => Promise.resolve();

  // Orphan repair is not what these tests look at: no password here is old enough for it.
  before(async () => {
    fx = await startRotationFixture(365 * DAY);
  });
  after(async () => {
    await fx.close();
  });

  test("rotates what is due, leaves the rest, then revokes the replaced password after its grace", async () => {
    const old = await fx.rotator.create("sweep-due", fx.tags(), step);
    await fx.store.setSecret("sweep-due", old.value, {
      expiresOn: new Date(fx.clock.now + 3 * DAY),
      tags: fx.tags({ [TAG.keyId]: old.upstreamId, [TAG.rotation]: "auto" }),
    });
    // Not due: auto but expiring after BROKER_ROTATE_BEFORE_DAYS; manual; not the broker's.
    await fx.store.setSecret("sweep-later", fx.seededSecret, {
      expiresOn: new Date(fx.clock.now + 60 * DAY),
      tags: fx.tags({ [TAG.keyId]: SEEDED_KEY, [TAG.rotation]: "auto" }),
    });
    await fx.store.setSecret("sweep-manual", fx.seededSecret, {
      expiresOn: new Date(fx.clock.now + 3 * DAY),
      tags: fx.tags({ [TAG.keyId]: SEEDED_KEY, [TAG.rotation]: "manual" }),
    });
    await fx.store.setSecret("sweep-foreign", "not-ours", {
      expiresOn: new Date(fx.clock.now + 1 * DAY),
      tags: { [TAG.kind]: "client-secret", [TAG.rotation]: "auto" },
    });
    const untouched = await Promise.all(
      ["sweep-later", "sweep-manual", "sweep-foreign"].map((n) => fx.store.getProperties(n)),
    );

    const first = await sweep(fx.ctx, "route");
    assert.ok(first.acquired);
    assert.equal(first.value.checked, 3);
    assert.deepEqual(first.value.failed, []);
    assert.deepEqual(
      first.value.rotated.map((r) => r.name),
      ["sweep-due"],
    );
    const rotated = await fx.store.getSecret("sweep-due");
    assert.equal(rotated.version, first.value.rotated[0]?.version);
    assert.notEqual(rotated.value, old.value);
    assert.notEqual(rotated.tags[TAG.keyId], old.upstreamId);
    assert.ok(fx.keyIds().includes(rotated.tags[TAG.keyId] ?? ""), "the new password exists upstream");
    assert.deepEqual(
      parsePending(rotated.tags[TAG.pendingRevoke]).map((p) => p.id),
      [old.upstreamId],
    );
    assert.ok(fx.keyIds().includes(old.upstreamId), "the replaced password lives through its grace");
    for (const before of untouched) {
      assert.equal((await fx.store.getProperties(before.name)).version, before.version, before.name);
    }

    // Within the grace: nothing to do.
    const second = await sweep(fx.ctx, "timer");
    assert.ok(second.acquired);
    assert.deepEqual(second.value.revoked, []);
    assert.deepEqual(second.value.rotated, []);
    assert.ok(fx.keyIds().includes(old.upstreamId));

    fx.clock.now += (GRACE_MINUTES + 1) * MINUTE;
    const third = await sweep(fx.ctx, "timer");
    assert.ok(third.acquired);
    assert.deepEqual(third.value.revoked, [
      { name: "sweep-due", upstreamId: old.upstreamId, outcome: "revoked" },
    ]);
    assert.deepEqual(third.value.rotated, []);
    assert.ok(!fx.keyIds().includes(old.upstreamId), "removed upstream");
    assert.ok(fx.keyIds().includes(SEEDED_KEY), "a password not replaced stays");
    const after = await fx.store.getProperties("sweep-due");
    assert.equal(after.tags[TAG.pendingRevoke], undefined);
    const log = fx.logLines.join("\n");
    assert.ok(!log.includes(old.value) && !log.includes(rotated.value), "no secret value is logged");
  });

  test("a sweep while another holds the rotation lease does nothing", async () => {
    const held = await fx.leases.tryAcquire(ROTATION_LEASE);
    assert.ok(held !== undefined);
    try {
      const outcome = await sweep(fx.ctx, "timer");
      assert.equal(outcome.acquired, false);
    } finally {
      await held.release();
    }
    assert.ok((await sweep(fx.ctx, "timer")).acquired);
  });
});
