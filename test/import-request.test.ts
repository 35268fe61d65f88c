import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { importRequestSchema } from "../src/inventory/import-request.js";

const GUID = "0a0b0c0d-1111-4222-8333-444455556666";
const PAT = `${"a".repeat(76)}AZDO${"b".repeat(4)}`;
const LEGACY_PAT = "a2".repeat(26);

/** The messages of a refused body, keyed by the field they name. */
function refusal(body: unknown): Record<string, string[]> {
  const result = importRequestSchema.safeParse(body);
  if (result.success) assert.fail("expected the body to be refused");
  const byField: Record<string, string[]> = {};
  for (const issue of result.error.issues) {
    const key = issue.path.join(".");
    (byField[key] ??= []).push(issue.message);
  }
  return byField;
}

describe("importRequestSchema", () => {
  test("accepts a PAT in either format, and minimal bodies of every kind", () => {
    for (const body of [
      { kind: "pat", value: PAT, organization: "contoso", scopes: ["vso.code"], authorizationId: GUID },
      { kind: "pat", value: LEGACY_PAT, allOrgs: true },
      { kind: "client-secret", value: "s3cr~t.value", applicationObjectId: GUID, keyId: GUID },
      { kind: "refresh-token", clientType: "confidential", clientSecretName: "app-secret" },
      { kind: "client-secret", expiresOn: "2027-01-01T00:00:00+02:00", owner: "ops@example.com" },
    ]) {
      assert.equal(importRequestSchema.safeParse(body).success, true, JSON.stringify(body));
    }
  });

  test("verify is for a PAT value only", () => {
    for (const verify of [true, false]) {
      assert.equal(importRequestSchema.safeParse({ kind: "pat", value: PAT, verify }).success, true);
    }
    assert.deepEqual(refusal({ kind: "pat", verify: false }).verify, [
      "only with a value (the PAT to check)",
    ]);
    assert.ok(refusal({ kind: "client-secret", value: "s3cr~t", verify: false }).verify);
    assert.ok(refusal({ kind: "pat", value: PAT, verify: "no" }).verify);
  });

  test("refuses unknown fields and unknown kinds", () => {
    assert.ok(refusal({ kind: "pat", extra: 1 })[""]);
    assert.ok(refusal({ kind: "password" }).kind);
  });

  test("a PAT value must have a PAT format; other kinds printable ASCII without spaces", () => {
    assert.ok(refusal({ kind: "pat", value: "a".repeat(84) }).value);
    assert.ok(refusal({ kind: "pat", value: LEGACY_PAT.toUpperCase() }).value);
    assert.ok(refusal({ kind: "client-secret", value: "has space" }).value);
    assert.ok(refusal({ kind: "refresh-token", value: "tab\there" }).value);
  });

  test("messages name the rule, never the value", () => {
    const value = "not-a-pat-but-secret";
    const result = importRequestSchema.safeParse({ kind: "pat", value, owner: "=cmd()" });
    if (result.success) assert.fail("expected the body to be refused");
    const text = JSON.stringify(result.error.issues);
    assert.ok(!text.includes(value));
    assert.ok(!text.includes("=cmd()"));
  });

  test("fields of one kind are refused on the others", () => {
    assert.deepEqual(refusal({ kind: "client-secret", scopes: ["vso.code"] }).scopes, ["only for kind pat"]);
    assert.deepEqual(refusal({ kind: "pat", keyId: GUID }).keyId, ["only for kind client-secret"]);
    assert.deepEqual(refusal({ kind: "client-secret", organization: "contoso" }).organization, [
      "only for kind pat or refresh-token",
    ]);
    assert.deepEqual(refusal({ kind: "pat", clientId: GUID }).clientId, [
      "only for kind client-secret or refresh-token",
    ]);
    assert.ok(refusal({ kind: "pat", lastRedeemed: "2026-01-01T00:00:00Z" }).lastRedeemed);
    assert.ok(refusal({ kind: "client-secret", allOrgs: false }).allOrgs);
  });

  test("refresh tokens: spa refused, a client secret only for confidential clients, expiry computed", () => {
    assert.ok(refusal({ kind: "refresh-token", clientType: "spa" }).clientType);
    assert.deepEqual(
      refusal({ kind: "refresh-token", clientType: "public", clientSecretName: "x" }).clientSecretName,
      ["only for clientType confidential"],
    );
    // No clientType given: the schema leaves the default to the domain.
    assert.equal(
      importRequestSchema.safeParse({ kind: "refresh-token", clientSecretName: "x" }).success,
      true,
    );
    assert.ok(refusal({ kind: "refresh-token", expiresOn: "2027-01-01T00:00:00Z" }).expiresOn);
  });

  test("allOrgs passes the schema (the import refuses true with its own code), for PATs only", () => {
    assert.equal(
      importRequestSchema.safeParse({ kind: "pat", allOrgs: true, organization: "contoso" }).success,
      true,
    );
    assert.equal(
      importRequestSchema.safeParse({ kind: "pat", allOrgs: false, organization: "contoso" }).success,
      true,
    );
  });

  test("owner: one printable line not starting like a formula", () => {
    for (const owner of ["=1+1", "+x", "-x", "@x", " x", "a\nb", ""]) {
      assert.ok(refusal({ kind: "pat", owner }).owner, JSON.stringify(owner));
    }
    assert.ok(refusal({ kind: "pat", owner: "a".repeat(257) }).owner);
    assert.equal(importRequestSchema.safeParse({ kind: "pat", owner: "a".repeat(256) }).success, true);
  });

  test("organization names, GUIDs, dates and lifetimes are checked", () => {
    for (const organization of ["-contoso", "contoso-", "con toso", "a".repeat(51)]) {
      assert.ok(refusal({ kind: "pat", organization }).organization, organization);
    }
    assert.equal(importRequestSchema.safeParse({ kind: "pat", organization: "a".repeat(50) }).success, true);
    assert.ok(refusal({ kind: "pat", authorizationId: "not-a-guid" }).authorizationId);
    assert.ok(refusal({ kind: "pat", expiresOn: "2027-01-01T00:00:00" }).expiresOn, "no time zone");
    assert.ok(refusal({ kind: "pat", lifetimeDays: 0 }).lifetimeDays);
    assert.ok(refusal({ kind: "pat", lifetimeDays: 367 }).lifetimeDays);
    assert.ok(refusal({ kind: "pat", lifetimeDays: 1.5 }).lifetimeDays);
  });

  test("scopes: known names, at least one, and together within a tag value", () => {
    assert.ok(refusal({ kind: "pat", scopes: [] }).scopes);
    assert.ok(refusal({ kind: "pat", scopes: ["vso.typo"] })["scopes.0"]);
    const many = Array.from({ length: 30 }, () => "vso.memberentitlementmanagement_write");
    assert.deepEqual(refusal({ kind: "pat", scopes: many }).scopes, ["must fit in 256 characters together"]);
  });
});
