import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { DEV_TENANT_ID } from "../src/local/dev-identities.js";
import { policyExplainWire, type PolicyExplainWire } from "../src/wire/policy-explain.js";
import { assertOneLineFailure, runCli } from "./support/cli-process.js";
import {
  callerToken,
  devClient,
  scratchDir,
  startTestStack,
  writePolicy,
  type TestStack,
} from "./support/dev-stack.js";
import { startTestIssuer, type TestIssuer } from "./support/test-issuer.js";

const AUD = "api://token-broker-ci";
const MAIN = "repo:contoso/app:ref:refs/heads/main";
/** A token's shape: the log scrubber would hide it, so the logs are searched for CLAIM_CANARY. */
const CANARY = "eyJhbGciOiJub25lIn0.explain-canary-7f3a.c2ln";
/** A claim value no scrubber knows: found in a log or an answer only if it was written there. */
const CLAIM_CANARY = "claim-canary-7f3a";
const PARTNER_HOST = "https://login.microsoftonline.com/0d6f7a1e-0000-4000-8000-00000000beef";
const PARTNER = `${PARTNER_HOST}/v2.0`;

describe("POST /api/policy/explain and token-broker policy explain", () => {
  let stack: TestStack;
  let issuer: TestIssuer;
  let admin: string;
  let ops: string;
  let caller: string;

  before(async () => {
    issuer = await startTestIssuer();
    const policy = writePolicy({
      // Granted to nobody: forbidden for every caller, as an unknown one is.
      profiles: { hidden: { kind: "pat", secret: "pat-hidden" } },
      grants: [
        {
          description: "GitHub Actions on main or a release branch",
          match: {
            iss: issuer.issuer,
            sub: { pattern: "repo:contoso/app:ref:refs/heads/(main|release/.+)" },
          },
          profiles: ["ado-read"],
        },
      ],
    });
    stack = await startTestStack({
      BROKER_POLICY_FILE: policy,
      // A partner tenant trusted as another issuer: its tokens are not the broker's tenant's.
      BROKER_TRUSTED_ISSUERS: JSON.stringify([
        { issuer: issuer.issuer, audiences: [AUD] },
        { issuer: PARTNER, jwksUri: `${PARTNER_HOST}/discovery/v2.0/keys`, audiences: [AUD] },
      ]),
    });
    admin = await callerToken(stack, "dev-admin");
    ops = await callerToken(stack, "dev-ops");
    caller = await callerToken(stack, "dev-caller");
  });
  after(async () => {
    await stack.close();
    await issuer.close();
  });

  async function explainAs(token: string, body: unknown): Promise<{ status: number; text: string }> {
    const res = await stack.api("/policy/explain", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  }

  async function explained(token: string, body: unknown): Promise<PolicyExplainWire> {
    const res = await explainAs(token, body);
    assert.equal(res.status, 200, res.text);
    return policyExplainWire.parse(JSON.parse(res.text));
  }

  const devCallerClaims = () => ({ tid: DEV_TENANT_ID, appid: devClient("dev-caller").clientId });

  test("a configured issuer of Entra's form is taken as the authenticator takes it: another issuer's", async () => {
    // The dev-caller's grant names no iss: it applies to the broker's own tenant only.
    const partner = await explained(admin, {
      profile: "nuget-feed",
      claims: { ...devCallerClaims(), iss: PARTNER },
    });
    assert.equal(partner.decision, "deny");
    const own = await explained(admin, { profile: "nuget-feed", claims: devCallerClaims() });
    assert.equal(own.decision, "allow");
  });

  test("with Policy.Read (implied by Secrets.Admin, or held as dev-ops does): matching and non-matching grants, grant by grant", async () => {
    for (const token of [admin, ops]) {
      const yes = await explained(token, { profile: "nuget-feed", claims: devCallerClaims() });
      assert.equal(yes.decision, "allow");
      assert.equal(yes.subject, "claims");
      assert.equal(yes.issuerKind, "entra");
      // Given claims are not verified: what the broker would refuse before any grant is said.
      assert.deepEqual(yes.warnings, ["no iss claim: every token the broker accepts has one"]);
      const first = yes.grants?.[0];
      assert.ok(first !== undefined);
      assert.deepEqual(
        first.claims.map((c) => [c.claim, c.matcher, c.matched, c.reason]),
        [
          ["tid", "exact", true, "equal"],
          ["appid", "exact", true, "equal"],
        ],
      );
      // The policy's own values are for the role-holder to see.
      assert.equal(first.claims[1]?.expected, devClient("dev-caller").clientId);
    }
    const no = await explained(admin, {
      profile: "nuget-feed",
      claims: { tid: DEV_TENANT_ID, appid: devClient("dev-ops").clientId },
    });
    assert.equal(no.decision, "deny");
    const grants = no.grants ?? [];
    assert.deepEqual(
      grants[0]?.claims.map((c) => c.reason),
      ["equal", "value differs"],
    );
    const list = grants[1];
    assert.deepEqual(
      [list?.namesProfile, list?.matched, list?.claims[1]?.matcher, list?.claims[1]?.reason],
      [false, true, "any-of", "in list"],
    );
  });

  test("a pattern grant, a grant for another issuer, and a token decoded (never verified) as claims", async () => {
    const gh = (sub: string) => ({
      iss: issuer.issuer,
      sub,
      tid: DEV_TENANT_ID,
      appid: devClient("dev-caller").clientId,
    });
    const main = await explained(admin, { profile: "ado-read", claims: gh(MAIN) });
    assert.equal(main.decision, "allow");
    assert.equal(main.issuerKind, "trusted");
    const pattern = main.grants?.find((g) => g.description === "GitHub Actions on main or a release branch");
    assert.deepEqual(
      pattern?.claims.map((c) => [c.claim, c.matcher, c.reason]),
      [
        ["iss", "exact", "equal"],
        ["sub", "pattern", "pattern matches"],
      ],
    );
    // Look-alike tid/appid from another issuer: the dev grants (no iss) do not apply.
    assert.deepEqual(
      main.grants?.slice(0, 2).map((g) => [g.appliesToIssuer, g.matched]),
      [
        [false, false],
        [false, false],
      ],
    );
    const pr = await explained(admin, { profile: "ado-read", claims: gh("repo:contoso/app:pull_request") });
    assert.equal(pr.decision, "deny");
    assert.equal(pr.grants?.[2]?.claims[1]?.reason, "pattern does not match");

    // A token is only decoded: one signed by a key nobody trusts, long expired, is still explained.
    const now = Math.floor(Date.now() / 1000);
    const stale = await issuer.sign({
      ...issuer.claims(AUD),
      exp: now - 3600,
      iat: now - 7200,
      nbf: now - 7200,
    });
    const fromToken = await explained(admin, { profile: "ado-read", token: stale });
    assert.equal(fromToken.subject, "token");
    assert.equal(fromToken.decision, "allow");
    assert.deepEqual(fromToken.warnings, ["exp has passed: the broker refuses it (401)"]);
    const asEntra = await explained(admin, { profile: "ado-read", token: stale, issuer: "entra" });
    assert.equal(asEntra.issuerKind, "entra");
    assert.ok(
      asEntra.warnings?.includes("tid is not the broker's tenant: it refuses such Entra tokens (401)"),
    );
  });

  test("the explained decision is the token route's, for a real caller token", async () => {
    for (const profile of ["nuget-feed", "ado-read", "hidden", "nope"]) {
      const said = await explained(admin, { profile, token: caller });
      const got = await stack.token(caller, { profile });
      assert.equal(said.decision === "allow", got.status === 200, `${profile}: ${got.status}`);
    }
  });

  test("without the role: only the caller itself, the decision only, unknown and forbidden alike", async () => {
    const answer = async (profile: string) => {
      const res = await explainAs(caller, { profile });
      assert.equal(res.status, 200, res.text);
      return JSON.parse(res.text) as Record<string, unknown>;
    };
    assert.deepEqual(await answer("nuget-feed"), {
      profile: "nuget-feed",
      decision: "allow",
      subject: "caller",
    });
    const forbidden = await answer("hidden");
    const unknown = await answer("no-such-profile");
    assert.deepEqual(forbidden, { profile: "hidden", decision: "deny", subject: "caller" });
    assert.deepEqual({ ...unknown, profile: "hidden" }, forbidden);
    // Nothing a 403 of the token route does not say already: there, the two are one body too.
    const [t1, t2] = await Promise.all([
      stack.token(caller, { profile: "hidden" }),
      stack.token(caller, { profile: "no-such-profile" }),
    ]);
    assert.equal(t1.status, 403);
    assert.equal(await t1.text(), await t2.text());

    for (const body of [
      { profile: "nuget-feed", claims: devCallerClaims() },
      { profile: "nuget-feed", token: caller },
      // Refused for the role before the token is even read: no 400 telling what it holds.
      { profile: "nuget-feed", token: "not-a-token" },
    ]) {
      const res = await explainAs(caller, body);
      assert.equal(res.status, 403, res.text);
      assert.equal((JSON.parse(res.text) as { code: string }).code, "insufficient_role");
    }
    // With the role, one's own claims are explained in full.
    const self = await explained(admin, { profile: "ado-read" });
    assert.equal(self.subject, "caller");
    assert.equal(self.decision, "allow");
    assert.deepEqual(self.warnings, []);
    assert.ok((self.grants?.length ?? 0) > 0);
  });

  test("bad bodies are 400 naming the field; an undecodable token is never echoed", async () => {
    const cases: [unknown, string][] = [
      [{ profile: "ado-read", claims: {}, token: caller }, "token"],
      [{ profile: "ado-read", issuer: "entra" }, "issuer"],
      [{ profile: "ado-read", claims: { sub: { nested: true } } }, "claims.sub"],
      [{ profile: "ado-read", extra: 1 }, "(body)"],
      [{ claims: {} }, "profile"],
      [{ profile: "ado-read", issuer: "github" }, "issuer"],
    ];
    for (const [body, field] of cases) {
      const res = await explainAs(admin, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      const problem = JSON.parse(res.text) as { code: string; errors?: { field: string }[] };
      assert.equal(problem.code, "invalid_request");
      assert.ok(
        problem.errors?.some((e) => e.field === field),
        `${field}: ${res.text}`,
      );
    }
    const notJson = await explainAs(admin, "{");
    assert.equal(notJson.status, 400);
    for (const token of [`${CANARY}x`, "a.b.c", CANARY.replace(/\./g, "")]) {
      const res = await explainAs(admin, { profile: "ado-read", token });
      assert.equal(res.status, 400, res.text);
      assert.deepEqual((JSON.parse(res.text) as { errors: unknown }).errors, [
        { field: "token", message: "is not a decodable JWT" },
      ]);
      assert.ok(!res.text.includes("explain-canary"));
    }
  });

  test("claim values never reach the answer or the logs; one audit line per call", async () => {
    const before = stack.logs.length;
    const res = await explainAs(admin, {
      profile: "ado-read",
      claims: {
        tid: CLAIM_CANARY,
        appid: [CLAIM_CANARY],
        sub: CLAIM_CANARY,
        iss: CLAIM_CANARY,
        x: CLAIM_CANARY,
      },
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(!res.text.includes(CLAIM_CANARY));
    const lines = stack.logs.slice(before);
    assert.ok(!lines.some((l) => l.includes(CLAIM_CANARY)));
    const audit = lines.filter(
      (l) => l.includes('"event":"audit.caller"') && l.includes('"action":"policy-explain"'),
    );
    assert.equal(audit.length, 1, lines.join("\n"));
    assert.match(audit[0] ?? "", /"outcome":"ok"/);
    assert.ok(audit[0]?.includes(devClient("dev-admin").clientId));
  });

  test("the CLI: per-grant lines, or the answer as JSON; claims and tokens from files, never printed", async () => {
    const dir = scratchDir();
    const claimsFile = path.join(dir, "claims.json");
    writeFileSync(claimsFile, JSON.stringify({ tid: DEV_TENANT_ID, appid: CLAIM_CANARY }));
    const tokenFile = path.join(dir, "caller.jwt");
    writeFileSync(tokenFile, `${caller}\n`);
    const env = { TOKEN_BROKER_URL: stack.brokerUrl, TOKEN_BROKER_TOKEN: admin };

    const denied = await runCli(
      ["policy", "explain", "--profile", "nuget-feed", "--claims", claimsFile],
      env,
    );
    assert.equal(denied.code, 0, denied.stderr);
    assert.match(denied.stdout, /^"nuget-feed": deny$/m);
    assert.match(
      denied.stdout,
      /^grant 0 "the dev caller app \(dev-caller\) gets every sample profile": does not match$/m,
    );
    assert.match(denied.stdout, new RegExp(`^  ✓ tid = "${DEV_TENANT_ID}": equal$`, "m"));
    assert.match(denied.stdout, /^ {2}✗ appid = "a1b2c3d4-[0-9a-f-]+": value differs$/m);
    assert.ok(!(denied.stdout + denied.stderr).includes(CLAIM_CANARY));

    const fromToken = await runCli(
      ["policy", "explain", "--profile", "nuget-feed", "--token-file", tokenFile, "--json"],
      env,
    );
    assert.equal(fromToken.code, 0, fromToken.stderr);
    const parsed = policyExplainWire.parse(JSON.parse(fromToken.stdout));
    assert.deepEqual([parsed.decision, parsed.subject], ["allow", "token"]);
    assert.ok(!fromToken.stdout.includes(caller));

    const self = await runCli(["policy", "explain", "--profile", "hidden"], {
      ...env,
      TOKEN_BROKER_TOKEN: caller,
    });
    assert.equal(self.code, 0, self.stderr);
    assert.equal(
      self.stdout,
      '"hidden": deny\n(your own claims; the reasons need the app role Policy.Read)\n',
    );

    const refused = await runCli(["policy", "explain", "--profile", "hidden", "--claims", claimsFile], {
      ...env,
      TOKEN_BROKER_TOKEN: caller,
    });
    assertOneLineFailure(refused, /Policy\.Read\.? \(403 insufficient_role\)/);
    const both = await runCli(
      ["policy", "explain", "--profile", "x", "--claims", claimsFile, "--token-file", tokenFile],
      env,
    );
    assert.equal(both.code, 2);
    const notJson = path.join(dir, "not.json");
    writeFileSync(notJson, `{"sub": "${CLAIM_CANARY}"`);
    const bad = await runCli(["policy", "explain", "--profile", "x", "--claims", notJson], env);
    assertOneLineFailure(bad, /is not JSON/, 2);
    assert.ok(!bad.stderr.includes(CLAIM_CANARY));
  });
});
