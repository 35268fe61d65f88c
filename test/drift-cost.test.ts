import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { driftReportWire } from "../src/wire/drift.js";
import { callerToken, startTestStack, type TestStack } from "./support/dev-stack.js";
import { leastCalls, resetUpstreamStats, seedDriftVault, upstreamCalls } from "./support/drift-seed.js";

const CREDENTIALS = 1000;
const UPSTREAM = 500;

/**
 * Issue 15 §6: a drift report over 1,000 vault credentials and 500 upstream PATs reads the vault
 * in ⌈N/25⌉ pages, each organization's PATs once in pages of 100 ($top), one Graph call per
 * application, and nothing per credential.
 */
describe("drift report cost over 1,000 credentials", () => {
  let stack: TestStack;
  let ops: string;

  before(async () => {
    stack = await startTestStack();
    ops = await callerToken(stack, "dev-ops");
    seedDriftVault(stack, CREDENTIALS, UPSTREAM);
  });
  after(async () => {
    await stack.close();
  });

  const drift = async () => {
    const res = await stack.api("/drift", { headers: { authorization: `Bearer ${ops}` } });
    assert.equal(res.status, 200);
    return driftReportWire.parse(await res.json());
  };

  test("pages, not per-credential calls: ⌈N/25⌉ vault pages, ⌈PATs/100⌉ per organization, one Graph call", async () => {
    await drift(); // warms the grant's access token
    resetUpstreamStats(stack);
    const r = await drift();
    const calls = upstreamCalls(stack);
    const least = await leastCalls(stack, r.checked);
    assert.equal(calls.vaultListPages, least.vaultListPages);
    assert.equal(calls.vaultRequests, calls.vaultListPages);
    // The bulk PATs alone are 250 per organization: 3 pages of 100 each, at the least.
    assert.ok(least.devopsListPages >= 6);
    assert.equal(calls.devopsListPages, least.devopsListPages);
    assert.equal(calls.devopsRequests, calls.devopsListPages);
    assert.equal(calls.graphRequests, least.graphRequests);
    assert.equal(calls.entraTokenRequests, 0);
    assert.deepEqual(r.checked.organizations, ["contoso", "fabrikam"]);
    const bulk = (name: string) => name.startsWith("bulk-");
    assert.deepEqual(
      r.missingUpstream.filter((m) => bulk(m.name)),
      [],
    );
    assert.equal(r.skipped.filter((s) => bulk(s.name)).length, CREDENTIALS - UPSTREAM);
    assert.equal(r.unmanagedPats.filter((p) => bulk(p.displayName)).length, 0);
  });
});
