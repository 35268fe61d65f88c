import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { statusOf, toItem } from "../src/inventory/managed-credential.js";
import { formatVerifyPending, parseVerifyPending } from "../src/inventory/verify-pending.js";
import type { SecretProperties } from "../src/vault/secret-store.js";

const KEY = "f0b0b335-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
const VERSION = "4eb73e5da4aee89c2c7564136398ba05";
const SINCE = Date.parse("2026-11-26T03:00:04Z");

describe("the verify-pending tag", () => {
  test("round-trips since, the proven version and its keyId, within a tag value's 256 characters", () => {
    const full = formatVerifyPending({
      since: SINCE + 750,
      proven: { version: VERSION, id: KEY.toUpperCase() },
    });
    assert.equal(full, `2026-11-26T03:00:04Z ${VERSION} ${KEY}`);
    assert.ok(full.length <= 256);
    assert.deepEqual(parseVerifyPending(full), { since: SINCE, proven: { version: VERSION, id: KEY } });
    assert.deepEqual(parseVerifyPending(formatVerifyPending({ since: SINCE })), { since: SINCE });
    assert.deepEqual(parseVerifyPending(`2026-11-26T03:00:04Z ${VERSION}`), {
      since: SINCE,
      proven: { version: VERSION },
    });
  });

  test("a malformed tag means not pending (never a guess at which version to hand out)", () => {
    for (const bad of [
      "",
      "soon",
      "2026-11-26 03:00:04",
      "2026-13-45T03:00:04Z",
      `2026-11-26T03:00:04Z ../other ${KEY}`,
      `2026-11-26T03:00:04Z ${VERSION} not-a-key`,
      `2026-11-26T03:00:04Z ${VERSION} ${KEY} extra`,
    ]) {
      assert.equal(parseVerifyPending(bad), undefined, bad);
    }
    assert.equal(parseVerifyPending(undefined), undefined);
  });

  test("shows as status pending-verification with its start, below rotation-failed", () => {
    const p: SecretProperties = {
      name: "app",
      version: "v2",
      enabled: true,
      contentType: undefined,
      expiresOn: new Date(SINCE + 30 * 24 * 3600_000),
      createdOn: undefined,
      updatedOn: undefined,
      tags: {
        "managed-by": "token-broker",
        kind: "client-secret",
        "verify-pending": formatVerifyPending({ since: SINCE, proven: { version: VERSION, id: KEY } }),
      },
    };
    const rules = { now: SINCE + 60_000, noticeDays: 7 };
    assert.equal(statusOf(p, rules), "pending-verification");
    assert.equal(toItem(p, rules)?.pendingVerificationSince, "2026-11-26T03:00:04.000Z");
    assert.equal(statusOf({ ...p, tags: { ...p.tags, "rotation-error": "x" } }, rules), "rotation-failed");
    assert.equal(statusOf({ ...p, tags: { ...p.tags, "verify-pending": "junk" } }, rules), "active");
  });
});
