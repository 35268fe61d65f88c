import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import type { Principal } from "../src/auth/principal.js";
import { ConfigError } from "../src/config.js";
import { MAX_CLAIM_LENGTH } from "../src/policy/claim-pattern.js";
import { loadPolicyFile } from "../src/policy/load.js";
import { policySchema } from "../src/policy/schema.js";
import type { BrokerIdentities } from "../src/policy/minting-identity.js";
import { scratchDir } from "./support/dev-stack.js";

const CONTROL = "00000000-0000-4000-8000-0000000000c0";
const MINTING = "00000000-0000-4000-8000-0000000000a0";
const identities = { controlClientId: CONTROL, mintingClientId: MINTING };
const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const GH = "https://token.actions.githubusercontent.com";

function policyFile(doc: unknown): string {
  const file = path.join(scratchDir(), "policy.json");
  writeFileSync(file, typeof doc === "string" ? doc : JSON.stringify(doc));
  return file;
}

const profiles = {
  "ado-read": {
    kind: "entra",
    scope: "499b84ac-1321-427f-aa17-267ca6975798/.default",
    credential: { type: "managed-identity" },
  },
  feed: { kind: "pat", secret: "pat-feed" },
};

function principal(issuerKind: "entra" | "trusted", claims: Record<string, unknown>): Principal {
  return {
    issuer: String(claims["iss"]),
    issuerKind,
    subject: String(claims["sub"]),
    claims,
    expiresAt: Date.now() + 60_000,
  };
}

describe("policy", () => {
  const policy = loadPolicyFile(
    policyFile({
      profiles,
      grants: [
        { match: { tid: TENANT, appid: ["app-1", "app-2"] }, profiles: ["ado-read", "feed"] },
        {
          match: { iss: GH, sub: { pattern: "repo:contoso/app:ref:refs/heads/(main|release/.+)" } },
          profiles: ["ado-read"],
        },
        { match: { iss: GH, repository_owner_id: "42" }, roles: ["Inventory.Read"] },
        { match: { groups: "ops" }, roles: ["Inventory.Read"] },
      ],
    }),
    identities,
  );

  test("exact values and lists match; nothing else does (deny by default)", () => {
    const entra = (appid: string) => principal("entra", { iss: "x", sub: "s", tid: TENANT, appid });
    assert.deepEqual([...policy.entitlements(entra("app-2")).profiles].sort(), ["ado-read", "feed"]);
    assert.equal(policy.entitlements(entra("app-3")).profiles.size, 0);
    assert.equal(
      policy.entitlements(principal("entra", { iss: "x", sub: "s", appid: "app-1" })).profiles.size,
      0,
    );
  });

  test("a managed-identity profile never mints as the control identity, nor with no identity at all", () => {
    const mi = (clientId?: string) => ({
      profiles: {
        vault: {
          kind: "entra",
          scope: "https://vault.azure.net/.default",
          credential: { type: "managed-identity", ...(clientId !== undefined ? { clientId } : {}) },
        },
      },
      grants: [],
    });
    const refused = (doc: unknown, ids: BrokerIdentities, why: RegExp) =>
      assert.throws(
        () => loadPolicyFile(policyFile(doc), ids),
        (e: unknown) => e instanceof ConfigError && why.test(e.message),
      );
    // Neither a clientId nor BROKER_MINTING_CLIENT_ID: it would mint as the control identity.
    refused(
      mi(),
      { controlClientId: CONTROL, mintingClientId: undefined },
      /\$\.profiles\.vault\.credential: a managed-identity profile needs a clientId, or BROKER_MINTING_CLIENT_ID set: without one it would mint as the broker's control identity \(AZURE_CLIENT_ID\)/,
    );
    // No AZURE_CLIENT_ID: the system-assigned identity is the control identity, and is never minted with.
    refused(
      mi(),
      { controlClientId: undefined, mintingClientId: undefined },
      /\$\.profiles\.vault\.credential: .*the system-assigned identity \(the broker's control identity while AZURE_CLIENT_ID is unset\)/,
    );
    // Naming the control identity, in any case of letters.
    refused(
      mi(CONTROL.toUpperCase()),
      identities,
      /\$\.profiles\.vault\.credential\.clientId: resolves to the broker's control identity \(AZURE_CLIENT_ID\)/,
    );
    refused(
      mi(),
      { controlClientId: CONTROL, mintingClientId: CONTROL },
      /\$\.profiles\.vault\.credential: resolves to the broker's control identity \(AZURE_CLIENT_ID, through BROKER_MINTING_CLIENT_ID\)/,
    );
    // The minting identity, or one the profile names, loads.
    assert.deepEqual(loadPolicyFile(policyFile(mi()), identities).profileNames(), ["vault"]);
    assert.deepEqual(
      loadPolicyFile(policyFile(mi("00000000-0000-4000-8000-0000000000b1")), {
        controlClientId: undefined,
        mintingClientId: undefined,
      }).profileNames(),
      ["vault"],
    );
  });

  test("patterns are anchored whatever the author wrote", () => {
    const gh = (sub: string) =>
      policy.entitlements(principal("trusted", { iss: GH, sub })).profiles.has("ado-read");
    assert.equal(gh("repo:contoso/app:ref:refs/heads/main"), true);
    assert.equal(gh("repo:contoso/app:ref:refs/heads/release/1.2"), true);
    assert.equal(gh("repo:contoso/app:ref:refs/heads/main-evil"), false);
    assert.equal(gh("xrepo:contoso/app:ref:refs/heads/main"), false);
  });

  test("patterns run in linear time on claims the caller controls, and long claims never match", () => {
    // With a backtracking engine this pattern takes 10 s on a 60-character sub and doubles per
    // character: the test would never finish. On RE2 it answers at once.
    const pathological = loadPolicyFile(
      policyFile({
        profiles,
        grants: [
          {
            match: { iss: GH, sub: { pattern: "^repo:contoso/([A-Za-z0-9_.-]+/?)+:environment:prod$" } },
            profiles: ["ado-read"],
          },
        ],
      }),
      identities,
    );
    const gh = (sub: string) =>
      pathological.entitlements(principal("trusted", { iss: GH, sub })).profiles.has("ado-read");
    assert.equal(gh(`repo:contoso/${"a".repeat(47)}:environment:pro`), false);
    assert.equal(gh(`repo:contoso/${"a/".repeat(480)}:environment:pr`), false);
    assert.equal(gh("repo:contoso/app/sub:environment:prod"), true);
    // Within the cap it still matches; beyond MAX_CLAIM_LENGTH even a matching claim does not.
    const fits = `repo:contoso/${"a".repeat(MAX_CLAIM_LENGTH - 30)}:environment:prod`;
    assert.equal(fits.length <= MAX_CLAIM_LENGTH, true);
    assert.equal(gh(fits), true);
    assert.equal(gh(`repo:contoso/${"a".repeat(10_000)}:environment:prod`), false);
    assert.equal(gh(`repo:contoso/${"a".repeat(10_000)}:environment:pro`), false);
    const listed = principal("trusted", {
      iss: GH,
      sub: [`repo:contoso/${"b".repeat(10_000)}:environment:prod`, "other"],
    });
    assert.equal(pathological.entitlements(listed).profiles.size, 0);
  });

  test("grants without iss bind to the Entra tenant only; list claims match any value", () => {
    const forged = principal("trusted", { iss: GH, sub: "s", tid: TENANT, appid: "app-1", groups: ["ops"] });
    assert.equal(policy.entitlements(forged).profiles.size, 0);
    assert.equal(policy.entitlements(forged).roles.size, 0);
    const ops = principal("entra", { iss: "x", sub: "s", groups: ["dev", "ops"] });
    assert.deepEqual([...policy.entitlements(ops).roles], ["Inventory.Read"]);
    const owner = principal("trusted", { iss: GH, sub: "s", repository_owner_id: "42" });
    assert.deepEqual([...policy.entitlements(owner).roles], ["Inventory.Read"]);
  });

  test("a number claim does not match its string form by accident of type", () => {
    assert.equal(
      policy.entitlements(principal("trusted", { iss: GH, sub: "s", repository_owner_id: 42 })).roles.size,
      0,
    );
  });

  test("an invalid policy stops the start, naming the field", () => {
    const cases: [unknown, RegExp][] = [
      ["{not json", /not valid JSON/],
      [
        { profiles, grants: [{ match: {}, profiles: ["feed"] }] },
        /\$\.grants\[0\]\.match: must name at least one claim/,
      ],
      [
        { profiles, grants: [{ match: { tid: TENANT }, profiles: ["nope"] }] },
        /\$\.grants\[0\]\.profiles\[0\]: names no profile/,
      ],
      [
        { profiles, grants: [{ match: { sub: { pattern: "(" } }, profiles: ["feed"] }] },
        /\$\.grants\[0\]\.match\.sub\.pattern: must be a valid RE2 regular expression/,
      ],
      // RE2 cannot run what needs backtracking: refused at load, naming the field.
      ...["(a)\\1", "repo:(?=contoso)", "(?<!x)main", "main(?!-evil)", "a{1,2000}"].map(
        (pattern): [unknown, RegExp] => [
          { profiles, grants: [{ match: { iss: GH, sub: { pattern } }, profiles: ["feed"] }] },
          /\$\.grants\[0\]\.match\.sub\.pattern: must be a valid RE2 regular expression \(no backreferences or lookaround/,
        ],
      ),
      [
        { profiles: { x: { kind: "pat", secret: "bad name!" } }, grants: [] },
        /\$\.profiles\.x\.secret: must be a Key Vault secret name/,
      ],
      [
        {
          profiles: { x: { kind: "entra", scope: "a b/.default", credential: { type: "managed-identity" } } },
          grants: [],
        },
        /\$\.profiles\.x\.scope: must be a single/,
      ],
      [{ profiles, grants: [], extra: true }, /\$\.extra: unknown key/],
      [
        { profiles: { x: { kind: "pat", secret: "s", colour: "red" } }, grants: [] },
        /\$\.profiles\.x\.colour: unknown key/,
      ],
      [
        { profiles, grants: [{ match: { tid: TENANT }, roles: ["Root"] }] },
        /\$\.grants\[0\]\.roles\[0\]: Invalid option/,
      ],
      // Roles for another issuer's tokens: exact claims besides iss, and admin only for one exact sub.
      [
        { profiles, grants: [{ match: { iss: GH }, roles: ["Inventory.Read"] }] },
        /\$\.grants\[0\]\.match: a grant with roles for an issuer must match exact claims besides iss/,
      ],
      [
        {
          profiles,
          grants: [{ match: { iss: GH, sub: { pattern: "repo:.*" } }, roles: ["Inventory.Read"] }],
        },
        /\$\.grants\[0\]\.match: a grant with roles/,
      ],
      [
        { profiles, grants: [{ match: { iss: GH, repository_owner_id: "42" }, roles: ["Secrets.Admin"] }] },
        /\$\.grants\[0\]\.match\.sub: Secrets\.Admin for an issuer's tokens needs one exact sub/,
      ],
    ];
    for (const [doc, pattern] of cases) {
      assert.throws(
        () => loadPolicyFile(policyFile(doc), identities),
        (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
      );
    }
    assert.throws(
      () => loadPolicyFile("/nonexistent/policy.json", identities),
      /BROKER_POLICY_FILE: cannot be read \(ENOENT\)/,
    );
  });

  test("Teams URLs: https to a non-loopback host, plain http and loopback only in the dev stack", () => {
    const doc = (url: string) => ({
      profiles,
      grants: [{ match: { tid: TENANT }, profiles: ["ado-read"] }],
      notices: { teams: { "team@contoso.com": url } },
    });
    const https = "https://prod-01.westeurope.logic.azure.com/workflows/x";
    assert.equal(
      loadPolicyFile(policyFile(doc(https)), identities)
        .noticeTeamsTargets()
        .get("team@contoso.com"),
      https,
    );
    for (const url of ["http://127.0.0.1:9000/teams", "https://localhost:9443/teams"]) {
      assert.equal(
        loadPolicyFile(policyFile(doc(url)), identities, { devStack: true }).noticeTeamsTargets().size,
        1,
      );
      assert.throws(
        () => loadPolicyFile(policyFile(doc(url)), identities),
        (e: unknown) =>
          e instanceof ConfigError &&
          /\$\.notices\.teams\["team@contoso\.com"\]: must be https to a non-loopback host/.test(e.message) &&
          !e.message.includes(url),
      );
    }
  });
});

describe("policy schema", () => {
  test("policy: notices.teams maps owners to https (or loopback) workflow URLs", () => {
    const doc = { profiles: {}, grants: [] };
    assert.ok(
      policySchema.safeParse({ ...doc, notices: { teams: { "a@b.c": "https://x.example/wf" } } }).success,
    );
    assert.ok(
      !policySchema.safeParse({ ...doc, notices: { teams: { "a@b.c": "http://x.example/wf" } } }).success,
    );
    assert.ok(!policySchema.safeParse({ ...doc, notices: { slack: {} } }).success);
  });
});
