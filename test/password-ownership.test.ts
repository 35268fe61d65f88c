import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TAG } from "../src/inventory/managed-credential.js";
import {
  isOwnershipRefusal,
  keepVerified,
  refuse,
  verifiedKeyIds,
} from "../src/rotation/password-ownership.js";
import { RotationError } from "../src/rotation/rotation-error.js";

const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";
const C = "00000000-0000-4000-8000-00000000000c";

describe("password ownership (only what the broker made or was proven to hold)", () => {
  test("verified keyIds are read lower-cased, blanks ignored; no tag is none", () => {
    assert.deepEqual(verifiedKeyIds({}), new Set());
    assert.deepEqual(verifiedKeyIds({ [TAG.verifiedKeyIds]: ` ${A.toUpperCase()}  ${B} ` }), new Set([A, B]));
  });

  test("keepVerified keeps only proven ids the credential still names, and drops an empty tag", () => {
    const tags: Record<string, string> = { [TAG.verifiedKeyIds]: `${A} ${B}` };
    keepVerified(tags, [B, C]);
    assert.equal(tags[TAG.verifiedKeyIds], B, "A is forgotten: no longer current or pending");
    keepVerified(tags, [B, C], C.toUpperCase());
    assert.deepEqual(verifiedKeyIds(tags), new Set([B, C]));
    keepVerified(tags, [C, C]);
    assert.equal(tags[TAG.verifiedKeyIds], C, "no duplicates");
    keepVerified(tags, [A]);
    assert.equal(TAG.verifiedKeyIds in tags, false);
    // An id added but not kept is not vouched for either.
    keepVerified(tags, [B], A);
    assert.equal(TAG.verifiedKeyIds in tags, false);
  });

  test("refusals are permanent, recognised by code, and only those codes", () => {
    const refusal = refuse("password_not_ours");
    assert.equal(refusal.code, "password_not_ours");
    assert.ok(isOwnershipRefusal(refusal));
    assert.ok(!isOwnershipRefusal(new RotationError("no_application", false)));
    assert.ok(!isOwnershipRefusal(new Error("password_not_ours")));
  });
});
