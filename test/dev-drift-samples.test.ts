import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DEV_USER } from "../src/local/dev-identities.js";
import { DRIFT_SAMPLE_PAT_NAME, LEGACY_GLOBAL_PAT } from "../src/local/drift-samples.js";
import { driftReportWire } from "../src/wire/drift.js";
import { runCli } from "./support/cli-process.js";
import { callerToken, startTestStack, type TestStack } from "./support/dev-stack.js";

/**
 * Issue 15 §4: what `npm start` shows (the drift samples are on there): `token-broker drift` lists
 * the PAT the rotator's user made by hand upstream, `inventory list` the global PAT the vault
 * still holds as retired, and rotate migrates it to one organization.
 */
describe("the dev stack's drift samples", () => {
  let stack: TestStack;
  let ops: string;
  let admin: string;
  let globalValue: string;

  before(async () => {
    stack = await startTestStack({}, { driftSamples: true });
    ops = await callerToken(stack, "dev-ops");
    admin = await callerToken(stack, "dev-admin");
    globalValue = (await stack.runtime.store.getSecret(LEGACY_GLOBAL_PAT)).value;
  });
  after(() => stack.close());

  test("the emulator holds the hand-made PAT, and a global PAT made before the cut-off", () => {
    const mine = stack.devops.pats("contoso").filter((p) => p.ownerObjectId === DEV_USER.objectId);
    const handMade = mine.filter((p) => p.displayName === DRIFT_SAMPLE_PAT_NAME);
    assert.equal(handMade.length, 1);
    assert.equal(handMade[0]?.status, "active");
    const global = mine.find((p) => p.displayName === "legacy all-orgs token");
    assert.ok(global !== undefined);
    assert.ok(Date.parse(global.validFrom) < Date.parse("2026-03-15T00:00:00Z"));
  });

  test("token-broker drift lists the unstored PAT, and nothing else", async () => {
    const env = { TOKEN_BROKER_URL: stack.brokerUrl, TOKEN_BROKER_TOKEN: ops };
    const json = await runCli(["drift", "--json"], env);
    assert.equal(json.code, 0, json.stderr);
    const r = driftReportWire.parse(JSON.parse(json.stdout));
    assert.deepEqual(
      r.unmanagedPats.map((p) => [p.displayName, p.organization, p.global, p.severity]),
      [[DRIFT_SAMPLE_PAT_NAME, "contoso", false, "low"]],
    );
    assert.deepEqual(r.unmanagedPasswords, []);
    assert.deepEqual(r.missingUpstream, []);
    const table = await runCli(["drift"], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(DRIFT_SAMPLE_PAT_NAME));
    assert.ok(!json.stdout.includes(globalValue) && !table.stdout.includes(globalValue));
  });

  test("inventory list shows the global PAT retired, with the global-pat warning", async () => {
    const env = { TOKEN_BROKER_URL: stack.brokerUrl, TOKEN_BROKER_TOKEN: ops };
    const listed = await runCli(["inventory", "list", "--status", "retired", "--json"], env);
    assert.equal(listed.code, 0, listed.stderr);
    const items = (JSON.parse(listed.stdout) as { items: { name: string; warnings?: string[] }[] }).items;
    assert.deepEqual(
      items.map((i) => i.name),
      [LEGACY_GLOBAL_PAT],
    );
    assert.ok(items[0]?.warnings?.includes("global-pat"));
    assert.ok(!listed.stdout.includes(globalValue));
  });

  test("rotate --org contoso migrates it: a contoso PAT under the same name, the global one revoked", async () => {
    const before = stack.devops.pats("contoso").find((p) => p.displayName === "legacy all-orgs token");
    const env = { TOKEN_BROKER_URL: stack.brokerUrl, TOKEN_BROKER_TOKEN: admin };
    const rotated = await runCli(["rotate", LEGACY_GLOBAL_PAT, "--org", "contoso", "--json"], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    const stored = await stack.runtime.store.getSecret(LEGACY_GLOBAL_PAT);
    assert.equal(stored.tags["org"], "contoso");
    assert.notEqual(stored.value, globalValue);
    assert.notEqual(stored.tags["authorization-id"], before?.authorizationId);
    const after = stack.devops.pats("contoso").find((p) => p.authorizationId === before?.authorizationId);
    assert.equal(after?.status, "revoked");
  });
});
