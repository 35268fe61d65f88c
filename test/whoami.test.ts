import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DEV_TENANT_ID } from "../src/local/dev-identities.js";
import { whoamiWire, type WhoamiWire } from "../src/wire/whoami.js";
import { callerToken, devClient, startTestStack, writePolicy, type TestStack } from "./support/dev-stack.js";
import { assertOneLineFailure, runCli } from "./support/cli-process.js";
import { startTestIssuer, type TestIssuer } from "./support/test-issuer.js";

const AUD = "api://token-broker-ci";

describe("GET /api/whoami and token-broker whoami", () => {
  let stack: TestStack;
  let issuer: TestIssuer;

  before(async () => {
    issuer = await startTestIssuer();
    const policy = writePolicy({
      grants: [
        {
          match: { iss: issuer.issuer, sub: "repo:contoso/app:ref:refs/heads/main" },
          profiles: ["ado-read"],
        },
      ],
    });
    stack = await startTestStack({
      BROKER_POLICY_FILE: policy,
      BROKER_TRUSTED_ISSUERS: JSON.stringify([{ issuer: issuer.issuer, audiences: [AUD] }]),
    });
  });
  after(async () => {
    await stack.close();
    await issuer.close();
  });

  async function whoami(token: string | undefined): Promise<{ status: number; text: string }> {
    const res = await stack.api("/whoami", {
      headers: token !== undefined ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: res.status, text: await res.text() };
  }

  function parsed(text: string): WhoamiWire {
    return whoamiWire.parse(JSON.parse(text));
  }

  test("dev-caller: its client id and tenant, the granted profiles, no roles; never the token", async () => {
    const token = await callerToken(stack, "dev-caller");
    const res = await whoami(token);
    assert.equal(res.status, 200, res.text);
    const me = parsed(res.text);
    assert.equal(me.issuerKind, "entra");
    assert.equal(me.clientId, devClient("dev-caller").clientId);
    assert.equal(me.tenantId, DEV_TENANT_ID);
    assert.deepEqual(me.roles, []);
    assert.deepEqual(me.profiles, ["ado-build", "ado-read", "graph-app", "nuget-feed"]);
    // The canary is the token itself, and its signature alone.
    assert.ok(!res.text.includes(token));
    assert.ok(!res.text.includes(token.split(".")[2] ?? "-"));
    const line = stack.logs.find(
      (l) => l.includes('"event":"audit.caller"') && l.includes(me.clientId ?? "-"),
    );
    assert.ok(line !== undefined, "one audit line per call");
    assert.match(line, /"action":"whoami"/);
    assert.match(line, /"outcome":"ok"/);
    assert.ok(!stack.logs.some((l) => l.includes(token)));
  });

  test("dev-admin: its app roles", async () => {
    const res = await whoami(await callerToken(stack, "dev-admin"));
    assert.equal(res.status, 200, res.text);
    const me = parsed(res.text);
    assert.equal(me.clientId, devClient("dev-admin").clientId);
    assert.deepEqual(me.roles, ["Inventory.Read", "Policy.Read", "Secrets.Admin"]);
    assert.deepEqual(me.profiles, ["ado-read"]);
  });

  test("a token of another trusted issuer: its issuer and subject, no client, no roles", async () => {
    const sub = "repo:contoso/app:ref:refs/heads/main";
    const res = await whoami(await issuer.sign(issuer.claims(AUD, { sub })));
    assert.equal(res.status, 200, res.text);
    const me = parsed(res.text);
    assert.equal(me.issuer, issuer.issuer);
    assert.equal(me.issuerKind, "trusted");
    assert.equal(me.subject, sub);
    assert.deepEqual(me.roles, []);
    assert.deepEqual(me.profiles, ["ado-read"]);
  });

  test("without a token, or with a bad one: 401, audited as rejected", async () => {
    const none = await whoami(undefined);
    assert.equal(none.status, 401);
    assert.equal((JSON.parse(none.text) as { code: string }).code, "missing_token");
    const bad = await whoami("a.b.c");
    assert.equal(bad.status, 401);
    assert.equal((JSON.parse(bad.text) as { code: string }).code, "invalid_token");
    assert.ok(
      stack.logs.some((l) => l.includes('"event":"audit.caller"') && l.includes('"outcome":"rejected"')),
    );
  });

  test("the CLI: aligned lines, or the answer as JSON; never the token", async () => {
    const token = await callerToken(stack, "dev-ops");
    const env = { TOKEN_BROKER_URL: stack.brokerUrl, TOKEN_BROKER_TOKEN: token };
    const text = await runCli(["whoami"], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^client id  ${devClient("dev-ops").clientId}$`, "m"));
    assert.match(text.stdout, /^roles {6}Inventory\.Read, Policy\.Read$/m);
    assert.match(text.stdout, /^profiles {3}ado-read$/m);
    assert.match(text.stdout, new RegExp(`^tenant     ${DEV_TENANT_ID}$`, "m"));
    const asJson = await runCli(["whoami", "--json"], env);
    assert.equal(asJson.code, 0, asJson.stderr);
    assert.equal(parsed(asJson.stdout).clientId, devClient("dev-ops").clientId);
    for (const r of [text, asJson]) assert.ok(!(r.stdout + r.stderr).includes(token));
    const refused = await runCli(["whoami"], { ...env, TOKEN_BROKER_TOKEN: "a.b.c" });
    assertOneLineFailure(refused, /\(401 invalid_token\)/);
  });
});
