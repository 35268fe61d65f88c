import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TAG } from "../src/inventory/managed-credential.js";
import { newValueTags } from "../src/inventory/new-value.js";
import { formatPending, parsePending } from "../src/inventory/pending-revoke.js";

const NOW = Date.parse("2026-11-26T03:00:00Z");
const GRACE = 60 * 60_000;
const OLD = "0a0b0c0d-1111-4222-8333-444455556666";
const OLDER = "1a1b1c1d-1111-4222-8333-444455556666";
const NEW = "2a2b2c2d-1111-4222-8333-444455556666";
const id = (n: number) => `${String(n).padStart(8, "0")}-1111-4222-8333-444455556666`;

// One rule for "a credential got a new value", used by import, rotation and promotion alike.
describe("newValueTags", () => {
  const base = {
    [TAG.managedBy]: "token-broker",
    [TAG.kind]: "client-secret",
    [TAG.keyId]: NEW,
    [TAG.pendingRevoke]: formatPending([{ id: OLDER, after: NOW - 1000 }]) as string,
    [TAG.rotationError]: "devops_create_forbidden",
    [TAG.noticeSentFor]: "v1:expiring-7",
    [TAG.verifyPending]: "2026-11-26T02:00:00Z v1",
    [TAG.rotatedOn]: "2026-01-01T00:00:00.000Z",
  };

  test("the replaced id waits out the grace; error, notice and verification markers go; rotated-on is now", () => {
    const tags = newValueTags(base, { replaced: [OLD.toUpperCase(), undefined], now: NOW, graceMs: GRACE });
    assert.ok(tags !== undefined);
    assert.deepEqual(parsePending(tags[TAG.pendingRevoke]), [
      { id: OLDER, after: Math.floor((NOW - 1000) / 1000) * 1000 },
      { id: OLD, after: NOW + GRACE },
    ]);
    for (const gone of [TAG.rotationError, TAG.noticeSentFor, TAG.verifyPending]) {
      assert.equal(tags[gone], undefined, gone);
    }
    assert.equal(tags[TAG.rotatedOn], new Date(NOW).toISOString());
    // What does not describe the previous value stays, and the input is not changed.
    assert.equal(tags[TAG.keyId], NEW);
    assert.equal(tags[TAG.kind], "client-secret");
    assert.equal(base[TAG.rotationError], "devops_create_forbidden");
  });

  test("a first import sets no rotated-on; the caller's stale tags are cleared too", () => {
    const tags = newValueTags(base, {
      replaced: [],
      now: NOW,
      graceMs: GRACE,
      first: true,
      stale: [TAG.keyId],
    });
    assert.equal(tags?.[TAG.keyId], undefined);
    assert.equal(tags?.[TAG.rotatedOn], base[TAG.rotatedOn]);
  });

  test("a promotion in place keeps the notices already sent for that version", () => {
    const tags = newValueTags(base, { replaced: [OLD], now: NOW, graceMs: GRACE, promoted: true });
    assert.ok(tags !== undefined);
    assert.equal(tags[TAG.noticeSentFor], "v1:expiring-7");
    assert.equal(tags[TAG.verifyPending], undefined);
  });

  test("an id already waiting is not added twice", () => {
    const tags = newValueTags(base, { replaced: [OLDER], now: NOW, graceMs: GRACE });
    assert.equal(parsePending(tags?.[TAG.pendingRevoke]).length, 1);
  });

  test("no room in pending-revoke: undefined, never a forgotten old credential", () => {
    const full = {
      [TAG.pendingRevoke]: formatPending([1, 2, 3, 4, 5].map((n) => ({ id: id(n), after: NOW }))) as string,
    };
    assert.equal(newValueTags(full, { replaced: [OLD], now: NOW, graceMs: GRACE }), undefined);
    // Nothing replaced: the five still fit.
    assert.ok(newValueTags(full, { replaced: [undefined], now: NOW, graceMs: GRACE }) !== undefined);
  });

  test("proofs of keyIds are kept only while those still wait to be revoked", () => {
    const tags = newValueTags(
      { ...base, [TAG.verifiedKeyIds]: `${OLD} ${NEW} ${OLDER}`, [TAG.pendingRevoke]: "" },
      { replaced: [OLD], now: NOW, graceMs: GRACE },
    );
    assert.equal(tags?.[TAG.verifiedKeyIds], OLD);
    const none = newValueTags(
      { ...base, [TAG.verifiedKeyIds]: NEW },
      { replaced: [], now: NOW, graceMs: GRACE },
    );
    assert.equal(none?.[TAG.verifiedKeyIds], undefined);
  });
});
