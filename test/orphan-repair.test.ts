import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TAG } from "../src/inventory/managed-credential.js";
import { revokeOrphans } from "../src/rotation/orphan-repair.js";
import type { RotationReport } from "../src/rotation/rotation-types.js";
import {
  MINUTE,
  SEEDED_KEY,
  startRotationFixture,
  type RotationFixture,
} from "./support/rotation-fixture.js";

const MIN_AGE_MINUTES = 10;

const emptyReport = (): RotationReport => ({
  rotated: [],
  pending: [],
  revoked: [],
  orphansRevoked: [],
  skipped: [],
  failed: [],
  checked: 0,
});

/**
 * revokeOrphans() with a real ClientSecretRotator against the Graph emulator: a marked password
 * the vault does not know is revoked once older than the minimum age; a younger one, one the vault
 * knows, and one without our marker are kept.
 */
describe("orphan repair against the Key Vault, Graph and Entra emulators", () => {
  let f: RotationFixture;
  before(async () => {
    f = await startRotationFixture(MIN_AGE_MINUTES * MINUTE);
  });
  after(async () => {
    await f.close();
  });

  test("revokes an old unknown marked password, keeps young, known and unmarked ones", async () => {
    // A managed credential of the app, so its passwords are looked at.
    await f.store.setSecret("orphan-anchor", f.seededSecret, {
      tags: f.tags({ [TAG.keyId]: SEEDED_KEY, [TAG.rotation]: "auto" }),
    });
    const managed = [await f.store.getProperties("orphan-anchor")];
    // Created upstream with our marker, never stored: what a crash leaves.
    const orphan = await f.rotator.create("orphan-lost", f.tags(), f.ctx.step);
    const stored = await f.rotator.create("orphan-stored", f.tags(), f.ctx.step);
    const known = new Set([SEEDED_KEY, stored.upstreamId.toLowerCase()]);

    // Younger than the minimum age: it may belong to a write under way.
    const young = emptyReport();
    await revokeOrphans(f.ctx, managed, known, young);
    assert.deepEqual(young.orphansRevoked, []);
    assert.deepEqual(young.failed, []);
    assert.ok(f.keyIds().includes(orphan.upstreamId), "a young orphan is kept");

    f.clock.now += (MIN_AGE_MINUTES + 1) * MINUTE;
    const old = emptyReport();
    await revokeOrphans(f.ctx, managed, known, old);
    assert.deepEqual(old.failed, []);
    assert.deepEqual(old.orphansRevoked, [{ name: "orphan-lost", upstreamId: orphan.upstreamId }]);
    const ids = f.keyIds();
    assert.ok(!ids.includes(orphan.upstreamId), "the old orphan is removed upstream");
    assert.ok(ids.includes(stored.upstreamId), "a password the vault knows stays");
    assert.ok(ids.includes(SEEDED_KEY), "a password without our marker stays");
    const log = f.logLines.join("\n");
    assert.ok(!log.includes(orphan.value) && !log.includes(stored.value), "no secret value is logged");
  });

  test("nothing is looked for without a managed credential of the kind", async () => {
    const orphan = await f.rotator.create("orphan-unlisted", f.tags(), f.ctx.step);
    f.clock.now += (MIN_AGE_MINUTES + 1) * MINUTE;
    const report = emptyReport();
    await revokeOrphans(f.ctx, [], new Set(), report);
    assert.deepEqual(report.orphansRevoked, []);
    assert.ok(f.keyIds().includes(orphan.upstreamId));
  });
});
