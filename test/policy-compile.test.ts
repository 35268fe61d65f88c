import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Principal } from "../src/auth/principal.js";
import { MAX_CLAIM_LENGTH } from "../src/policy/claim-pattern.js";
import { compilePolicy } from "../src/policy/policy.js";
import { policySchema } from "../src/policy/schema.js";

const GH = "https://token.actions.githubusercontent.com";
const APP = "0A0B0C0D-1111-4222-8333-444455556666";

function caller(issuerKind: "entra" | "trusted", claims: Record<string, unknown>): Principal {
  return { issuer: "x", issuerKind, subject: "s", claims, expiresAt: 0 };
}

function compile(doc: unknown) {
  return compilePolicy(policySchema.parse(doc));
}

const profiles = {
  a: { kind: "pat", secret: "pat-a" },
  b: { kind: "pat", secret: "pat-b" },
};

describe("compilePolicy", () => {
  test("profiles are looked up by name; unknown names are undefined", () => {
    const policy = compile({ profiles, grants: [] });
    assert.deepEqual(policy.profileNames(), ["a", "b"]);
    assert.deepEqual(policy.profile("a"), { kind: "pat", secret: "pat-a" });
    assert.equal(policy.profile("c"), undefined);
  });

  test("deny by default: no matching grant gives nothing", () => {
    const policy = compile({ profiles, grants: [{ match: { appid: "app-1" }, profiles: ["a"] }] });
    const none = policy.entitlements(caller("entra", { appid: "app-2" }));
    assert.equal(none.profiles.size, 0);
    assert.equal(none.roles.size, 0);
  });

  test("every claim of a grant must match; matching grants add up", () => {
    const policy = compile({
      profiles,
      grants: [
        { match: { appid: "app-1", tid: "t" }, profiles: ["a"] },
        { match: { appid: ["app-1", "app-9"] }, profiles: ["b"], roles: ["Inventory.Read"] },
      ],
    });
    const both = policy.entitlements(caller("entra", { appid: "app-1", tid: "t" }));
    assert.deepEqual([...both.profiles].sort(), ["a", "b"]);
    assert.deepEqual([...both.roles], ["Inventory.Read"]);
    const one = policy.entitlements(caller("entra", { appid: "app-1", tid: "other" }));
    assert.deepEqual([...one.profiles], ["b"]);
  });

  test("claims compare as strings; a list-valued claim matches when any value does", () => {
    const policy = compile({ profiles, grants: [{ match: { groups: "ops" }, profiles: ["a"] }] });
    assert.equal(policy.entitlements(caller("entra", { groups: ["dev", "ops"] })).profiles.size, 1);
    assert.equal(policy.entitlements(caller("entra", { groups: ["dev", 1] })).profiles.size, 0);
    assert.equal(policy.entitlements(caller("entra", { groups: { ops: true } })).profiles.size, 0);
    assert.equal(policy.entitlements(caller("entra", {})).profiles.size, 0);
    const numeric = compile({ profiles, grants: [{ match: { n: "42" }, profiles: ["a"] }] });
    assert.equal(numeric.entitlements(caller("entra", { n: 42 })).profiles.size, 0, "no coercion");
  });

  test("patterns are anchored, and a claim longer than any policy value matches nothing", () => {
    const policy = compile({
      profiles,
      grants: [{ match: { sub: { pattern: "repo:.*" } }, profiles: ["a"] }],
    });
    const has = (sub: string) => policy.entitlements(caller("entra", { sub })).profiles.size === 1;
    assert.ok(has("repo:x"));
    assert.ok(!has("xrepo:x"), "anchored at the start");
    assert.ok(has(`repo:${"x".repeat(MAX_CLAIM_LENGTH - 5)}`));
    assert.ok(!has(`repo:${"x".repeat(MAX_CLAIM_LENGTH)}`));
  });

  test("a grant without iss applies to Entra tokens only; with iss, to that issuer", () => {
    const policy = compile({
      profiles,
      grants: [
        { match: { appid: "app-1" }, profiles: ["a"] },
        { match: { iss: GH, sub: "repo:contoso/app" }, profiles: ["b"] },
      ],
    });
    assert.equal(policy.entitlements(caller("trusted", { appid: "app-1" })).profiles.size, 0);
    assert.deepEqual(
      [...policy.entitlements(caller("trusted", { iss: GH, sub: "repo:contoso/app" })).profiles],
      ["b"],
    );
    assert.equal(
      policy.entitlements(caller("trusted", { iss: "https://other", sub: "repo:contoso/app" })).profiles.size,
      0,
    );
  });

  test("Teams targets are keyed by the lower-cased owner; the application list is lower case or absent", () => {
    const url = "https://example.invalid/workflow";
    const policy = compile({
      profiles,
      grants: [],
      notices: { teams: { "Ops@Contoso.com": url } },
      rotation: { applications: [APP] },
    });
    assert.deepEqual([...policy.noticeTeamsTargets()], [["ops@contoso.com", url]]);
    assert.deepEqual([...(policy.managedApplications() ?? [])], [APP.toLowerCase()]);
    const bare = compile({ profiles, grants: [] });
    assert.equal(bare.managedApplications(), undefined, "no list: any application");
    assert.equal(bare.noticeTeamsTargets().size, 0);
  });
});
