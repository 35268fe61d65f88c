import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidArgumentError } from "commander";
import {
  authorityArg,
  dateArg,
  expiryArg,
  guidArg,
  intArg,
  listArg,
  nameArg,
  nonBlank,
} from "../src/cli/commands/args.js";
import { UsageError } from "../src/cli/errors.js";

const GUID = "0A0B0C0D-1111-4222-8333-444455556666";

describe("CLI argument parsers", () => {
  test("expiryArg takes a duration from now, or a date as dateArg does", () => {
    const now = () => Date.parse("2030-03-01T10:00:00Z");
    assert.equal(expiryArg("30d", now), "2030-03-31T10:00:00.000Z");
    assert.equal(expiryArg("12h", now), "2030-03-01T22:00:00.000Z");
    assert.equal(expiryArg("2W", now), "2030-03-15T10:00:00.000Z");
    assert.equal(expiryArg("2031-01-02", now), "2031-01-02T00:00:00.000Z");
    for (const raw of ["0d", "30", "30m", "d", "-3d", "30 days", "99999d"]) {
      assert.throws(() => expiryArg(raw, now), InvalidArgumentError, raw);
    }
  });

  test("guidArg lower-cases a GUID and refuses anything else", () => {
    assert.equal(guidArg(GUID), GUID.toLowerCase());
    for (const raw of ["", "0a0b0c0d11114222833344445555666", `${GUID}0`, `{${GUID}}`]) {
      assert.throws(() => guidArg(raw), InvalidArgumentError, raw);
    }
  });

  test("authorityArg keeps the https origin only", () => {
    assert.equal(authorityArg("https://login.microsoftonline.com/"), "https://login.microsoftonline.com");
    assert.equal(authorityArg("https://login.example:8443/tenant?x=1"), "https://login.example:8443");
    for (const raw of [
      "login.microsoftonline.com",
      "http://login.microsoftonline.com",
      "https://u:p@login.example",
    ]) {
      assert.throws(() => authorityArg(raw), UsageError, raw);
    }
  });

  test("authorityArg never echoes a user part", () => {
    assert.throws(
      () => authorityArg("https://user:hunter2@login.example"),
      (e: unknown) => e instanceof UsageError && !e.message.includes("hunter2"),
    );
  });

  test("nonBlank trims, and undefined is empty", () => {
    assert.equal(nonBlank("  x "), "x");
    assert.equal(nonBlank(undefined), "");
    assert.equal(nonBlank("   "), "");
  });

  test("intArg takes whole numbers within bounds, inclusive", () => {
    const days = intArg(1, 366);
    assert.equal(days("1"), 1);
    assert.equal(days("366"), 366);
    for (const raw of ["0", "367", "-1", "1.5", "1e2", " 7", "", "seven"]) {
      assert.throws(() => days(raw), InvalidArgumentError, raw);
    }
  });

  test("nameArg takes Key Vault secret names", () => {
    assert.equal(nameArg("pat-feed-1"), "pat-feed-1");
    for (const raw of ["", "pat_feed", "pat feed", "a".repeat(128)]) {
      assert.throws(() => nameArg(raw), InvalidArgumentError, raw);
    }
    assert.equal(nameArg("a".repeat(127)), "a".repeat(127));
  });

  test("dateArg: a day is midnight UTC, a date-time needs a zone; sent as ISO UTC", () => {
    assert.equal(dateArg("2027-03-01"), "2027-03-01T00:00:00.000Z");
    assert.equal(dateArg("2027-03-01T10:30+02:00"), "2027-03-01T08:30:00.000Z");
    assert.equal(dateArg("2027-03-01T10:30:15.5z"), "2027-03-01T10:30:15.500Z");
    for (const raw of ["2027-03-01T10:30", "2027-13-01", "01/03/2027", "2027-03-01 10:30Z", "tomorrow"]) {
      assert.throws(() => dateArg(raw), InvalidArgumentError, raw);
    }
  });

  test("listArg splits on commas, trims, drops empties, and refuses an empty list", () => {
    assert.deepEqual(listArg(" vso.code, vso.build ,,"), ["vso.code", "vso.build"]);
    assert.deepEqual(listArg("one"), ["one"]);
    for (const raw of ["", " , ,"])
      assert.throws(() => listArg(raw), InvalidArgumentError, JSON.stringify(raw));
  });
});
