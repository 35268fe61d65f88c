import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { revokedWords } from "../src/cli/commands/revoke.js";
import { noticeSummary, rotationSummary } from "../src/cli/commands/sweep.js";
import { describeFieldError, flagOf } from "../src/cli/field-flags.js";

describe("the CLI's words for what the broker answered", () => {
  test("each upstreamRevocation is said in words; a word the CLI does not know is shown as it came", () => {
    const words = (upstreamRevocation: string) =>
      revokedWords({ name: "x", deleted: true, upstreamRevocation, recoverableDays: 7 });
    assert.match(words("revoked"), /^Revoked x upstream \(it no longer works\) and deleted it$/);
    assert.match(words("not-found"), /^Deleted x; upstream did not know it/);
    assert.match(
      words("not-applicable"),
      /nothing was revoked upstream: no authorization id or key id recorded/,
    );
    assert.match(
      words("not-configured"),
      /nothing was revoked upstream: the broker has no identity that may/,
    );
    assert.match(words("skipped"), /without revoking it upstream \(--skip-upstream\)/);
    assert.equal(words("parked"), "Deleted x; upstream revocation: parked");
    // Only "revoked" may say revoked.
    for (const w of ["not-found", "not-applicable", "not-configured", "skipped", "parked"]) {
      assert.doesNotMatch(words(w), /^Revoked/, w);
    }
  });

  test("API fields become flags; a bad scope is named from what was sent", () => {
    assert.equal(flagOf("expiresOn"), "--expires");
    assert.equal(flagOf("organization"), "--org");
    assert.equal(flagOf("lifetimeDays"), "--lifetime-days");
    assert.equal(describeFieldError({ field: "owner", message: "is required" }), "--owner is required");
    assert.equal(describeFieldError({ field: "extra", message: "unknown" }), "extra: unknown");
    const scope = describeFieldError(
      { field: "scopes.1", message: 'Invalid option: expected one of "app_token"|…' },
      { scopes: ["vso.code", "vso.nope"] },
    );
    assert.match(scope, /^--scopes: unknown scope vso\.nope; valid scopes include vso\.code, vso\.packaging/);
    // A scope rule that is not about an unknown scope keeps the broker's words, with the flag.
    assert.equal(
      describeFieldError(
        { field: "scopes", message: "must fit in 256 characters together" },
        { scopes: ["vso.code"] },
      ),
      "--scopes must fit in 256 characters together",
    );
  });

  test("sweep summaries name what happened, with reasons", () => {
    const rotation = rotationSummary({
      rotated: [{ name: "a", version: "v" }],
      pending: [],
      revoked: [
        { name: "a", upstreamId: "i", outcome: "revoked" },
        { name: "b", upstreamId: "j", outcome: "not-found" },
      ],
      orphansRevoked: [],
      skipped: [],
      failed: [{ name: "c", reason: "devops_create_forbidden" }],
      checked: 3,
    });
    assert.equal(
      rotation,
      [
        "Rotation sweep: checked 3",
        "rotated 1: a",
        "pending verification 0",
        "revoked 2: a, b (not-found)",
        "orphans revoked 0",
        "skipped 0",
        "failed 1: c (devops_create_forbidden)",
        "",
      ].join("\n"),
    );
    const notices = noticeSummary({
      notified: [{ name: "a", threshold: 7 }],
      alreadyNotified: [{ name: "b", threshold: "expired" }],
      failed: [{ name: "c", threshold: 1, reason: "teams: http 500" }],
      skipped: [],
      checked: 4,
    });
    assert.match(
      notices,
      /^Notice sweep: checked 4\nnotified 1: a \(7 days\)\nalready notified 1: b \(expired\)\n/,
    );
    assert.match(notices, /^failed 1: c \(1 day: teams: http 500\)$/m);
  });
});
