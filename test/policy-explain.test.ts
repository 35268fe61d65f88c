import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MAX_CLAIM_LENGTH } from "../src/policy/claim-pattern.js";
import { defaultIssuerKind, explain, explainSubject, type ExplainSubject } from "../src/policy/explain.js";
import { compilePolicy } from "../src/policy/policy.js";
import { policySchema } from "../src/policy/schema.js";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const GH = "https://token.actions.githubusercontent.com";

const policy = compilePolicy(
  policySchema.parse({
    profiles: {
      "ado-read": { kind: "pat", secret: "pat-ado" },
      feed: { kind: "pat", secret: "pat-feed" },
      deploy: { kind: "pat", secret: "pat-deploy" },
    },
    grants: [
      { description: "exact", match: { tid: TENANT, appid: "app-1" }, profiles: ["feed"] },
      {
        description: "list",
        match: { tid: TENANT, appid: ["app-2", "app-3"] },
        profiles: ["feed", "ado-read"],
      },
      {
        description: "pattern",
        match: { iss: GH, sub: { pattern: "repo:contoso/app:ref:refs/heads/(main|release/.+)" } },
        profiles: ["ado-read"],
      },
      {
        match: { iss: GH, sub: "repo:contoso/ops:environment:prod" },
        profiles: ["deploy"],
        roles: ["Policy.Read"],
      },
    ],
  }),
);

const entra = (claims: Record<string, unknown>): ExplainSubject => ({ issuerKind: "entra", claims });
const github = (claims: Record<string, unknown>): ExplainSubject => ({
  issuerKind: "trusted",
  claims: { iss: GH, ...claims },
});

function claimsOf(subject: ExplainSubject, profile: string, grant: number) {
  const g = explain(policy, subject, profile).grants[grant];
  assert.ok(g !== undefined);
  return Object.fromEntries(g.claims.map((c) => [c.claim, [c.matcher, c.matched, c.reason]]));
}

describe("explain", () => {
  test("an exact grant: every claim equal allows; one that differs or is absent denies, saying which", () => {
    const yes = explain(policy, entra({ tid: TENANT, appid: "app-1" }), "feed");
    assert.equal(yes.decision, "allow");
    assert.equal(yes.profileExists, true);
    const g = yes.grants[0];
    assert.ok(g !== undefined);
    assert.deepEqual(
      [g.index, g.description, g.namesProfile, g.appliesToIssuer, g.matched],
      [0, "exact", true, true, true],
    );
    assert.deepEqual(claimsOf(entra({ tid: TENANT, appid: "app-1" }), "feed", 0), {
      tid: ["exact", true, "equal"],
      appid: ["exact", true, "equal"],
    });
    assert.deepEqual(claimsOf(entra({ appid: "app-9" }), "feed", 0), {
      tid: ["exact", false, "claim absent"],
      appid: ["exact", false, "value differs"],
    });
    assert.equal(explain(policy, entra({ appid: "app-9", tid: TENANT }), "feed").decision, "deny");
  });

  test("a list grant: in the list or not; a list-valued claim matches when one of its values does", () => {
    assert.deepEqual(claimsOf(entra({ tid: TENANT, appid: "app-3" }), "feed", 1)["appid"], [
      "any-of",
      true,
      "in list",
    ]);
    assert.deepEqual(claimsOf(entra({ tid: TENANT, appid: "app-4" }), "feed", 1)["appid"], [
      "any-of",
      false,
      "not in list",
    ]);
    assert.deepEqual(claimsOf(entra({ tid: TENANT, appid: ["x", "app-2"] }), "feed", 1)["appid"], [
      "any-of",
      true,
      "a value of the list claim is in the list",
    ]);
    assert.deepEqual(claimsOf(entra({ tid: TENANT, appid: ["x", 7] }), "feed", 1)["appid"], [
      "any-of",
      false,
      "no value of the list claim is in the list",
    ]);
    assert.deepEqual(claimsOf(entra({ tid: TENANT, appid: [] }), "feed", 1)["appid"], [
      "any-of",
      false,
      "an empty list",
    ]);
    assert.deepEqual(claimsOf(entra({ tid: 42, appid: "app-2" }), "feed", 1)["tid"], [
      "exact",
      false,
      "not a string",
    ]);
  });

  test("a pattern grant: anchored as at load; a claim over the cap never matches", () => {
    const allow = explain(policy, github({ sub: "repo:contoso/app:ref:refs/heads/release/2" }), "ado-read");
    assert.equal(allow.decision, "allow");
    assert.deepEqual(claimsOf(github({ sub: "repo:contoso/app:ref:refs/heads/main" }), "ado-read", 2), {
      iss: ["exact", true, "equal"],
      sub: ["pattern", true, "pattern matches"],
    });
    assert.deepEqual(
      claimsOf(github({ sub: "repo:contoso/app:ref:refs/heads/main-evil" }), "ado-read", 2)["sub"],
      ["pattern", false, "pattern does not match"],
    );
    const long = `repo:contoso/app:ref:refs/heads/release/${"a".repeat(MAX_CLAIM_LENGTH)}`;
    assert.deepEqual(claimsOf(github({ sub: long }), "ado-read", 2)["sub"], [
      "pattern",
      false,
      `longer than ${MAX_CLAIM_LENGTH} characters`,
    ]);
    assert.equal(explain(policy, github({ sub: long }), "ado-read").decision, "deny");
  });

  test("a grant without iss does not apply to another issuer's claims, however well they match", () => {
    const forged = explain(policy, github({ tid: TENANT, appid: "app-1" }), "feed");
    assert.equal(forged.decision, "deny");
    const g = forged.grants[0];
    assert.ok(g !== undefined);
    assert.equal(g.appliesToIssuer, false);
    assert.equal(g.matched, false);
    // Its claims alone would match: the explanation says so, and that the issuer rule decided.
    assert.ok(g.claims.every((c) => c.matched));
    assert.equal(forged.grants[2]?.appliesToIssuer, true);
  });

  test("an unknown profile is denied with no grant naming it; grants for others say they do not name it", () => {
    const unknown = explain(policy, entra({ tid: TENANT, appid: "app-1" }), "nope");
    assert.equal(unknown.decision, "deny");
    assert.equal(unknown.profileExists, false);
    assert.ok(unknown.grants.every((g) => !g.namesProfile));
    assert.equal(unknown.grants[0]?.matched, true);
  });

  test("the decision is the token route's (entitlements) on every input", () => {
    const values = [undefined, TENANT, "app-1", "app-2", ["app-3"], 42, "x".repeat(MAX_CLAIM_LENGTH + 1)];
    const subs = [
      undefined,
      "repo:contoso/app:ref:refs/heads/main",
      "repo:contoso/app:ref:refs/heads/release/1",
      "repo:contoso/ops:environment:prod",
      "repo:contoso/app:pull_request",
    ];
    let allowed = 0;
    let checked = 0;
    for (const issuerKind of ["entra", "trusted"] as const)
      for (const iss of [undefined, GH])
        for (const tid of values)
          for (const appid of values)
            for (const sub of subs) {
              const claims = Object.fromEntries(
                Object.entries({ iss, tid, appid, sub }).filter(([, v]) => v !== undefined),
              );
              const granted = policy.entitlements({ issuerKind, claims }).profiles;
              for (const profile of ["feed", "ado-read", "deploy", "nope"]) {
                const decision = explain(policy, { issuerKind, claims }, profile).decision;
                const expected = granted.has(profile) && policy.profile(profile) !== undefined;
                assert.equal(decision === "allow", expected, JSON.stringify({ issuerKind, claims, profile }));
                checked++;
                if (expected) allowed++;
              }
            }
    // Both answers occur, so the comparison can fail either way.
    assert.ok(allowed > 50 && checked - allowed > 50, `${allowed} of ${checked}`);
  });

  test("a claim's value never appears in the explanation; the policy's own values do", () => {
    const canary = "eyJhbGciOiJSUzI1NiJ9.canary-claim-value.c2ln";
    const text = JSON.stringify(
      ["feed", "ado-read", "deploy", "nope"].map((p) =>
        explain(policy, entra({ tid: canary, appid: [canary, "x"], sub: canary, iss: canary }), p),
      ),
    );
    assert.ok(!text.includes("canary-claim-value"));
    assert.ok(text.includes("app-1") && text.includes("refs/heads/(main|release/.+)"));
  });
});

describe("how given claims are taken", () => {
  test("Entra when iss is absent, the broker's own or of an Entra cloud's form; another issuer's otherwise", () => {
    assert.equal(defaultIssuerKind({}), "entra");
    assert.equal(defaultIssuerKind({ iss: `https://sts.windows.net/${TENANT}/` }), "entra");
    assert.equal(defaultIssuerKind({ iss: `https://login.microsoftonline.com/${TENANT}/v2.0` }), "entra");
    assert.equal(
      defaultIssuerKind({ iss: `https://login.partner.microsoftonline.cn/${TENANT}/v2.0` }),
      "entra",
    );
    assert.equal(defaultIssuerKind({ iss: `https://sts.windows.net/${TENANT}/v2.0` }), "trusted");
    assert.equal(defaultIssuerKind({ iss: `https://evil.example/${TENANT}/v2.0` }), "trusted");
    assert.equal(defaultIssuerKind({ iss: GH }), "trusted");
    assert.equal(defaultIssuerKind({ iss: 7 }), "trusted");
    assert.equal(
      defaultIssuerKind({ iss: "https://127.0.0.1:9/t/v2.0" }, ["https://127.0.0.1:9/t/v2.0"]),
      "entra",
    );
  });

  test("Entra claims name the client in appid, as verified v2 tokens do (azp); another issuer's stay as given", () => {
    assert.equal(explainSubject({ azp: "app-1" }, undefined).claims["appid"], "app-1");
    assert.equal(explainSubject({ azp: "app-1", appid: "app-2" }, "entra").claims["appid"], "app-2");
    assert.equal(explainSubject({ iss: GH, azp: "app-1" }, undefined).claims["appid"], undefined);
    assert.equal(explainSubject({ iss: GH }, "entra").issuerKind, "entra");
    assert.equal(
      explain(policy, explainSubject({ tid: TENANT, azp: "app-1" }, undefined), "feed").decision,
      "allow",
    );
  });
});
