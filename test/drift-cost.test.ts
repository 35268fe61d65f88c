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

  test("the rotation sweep's drift read: the sweep's one vault listing, the drift state, the lists once more", async () => {
    const admin = await callerToken(stack, "dev-admin");
    const sweep = async () => {
      const res = await stack.api("/sweeps/rotation", {
        method: "POST",
        headers: { authorization: `Bearer ${admin}` },
      });
      assert.equal(res.status, 200);
      return (await res.json()) as { drift: { unmanagedPats: number } };
    };
    await sweep(); // rotates the due sample PAT: the steady state is the next one
    resetUpstreamStats(stack);
    const r = await sweep();
    const calls = upstreamCalls(stack);
    const least = await leastCalls(stack, { organizations: ["contoso", "fabrikam"], applications: ["app"] });
    assert.equal(r.drift.unmanagedPats, 0);
    assert.equal(calls.vaultListPages, least.vaultListPages, "drift reuses the sweep's listing");
    assert.equal(calls.vaultRequests, calls.vaultListPages + 1, "and reads the drift state");
    // Orphan repair (the PATs carrying the marker) and drift each list the PATs in pages of 100.
    assert.equal(calls.devopsRequests, 2 * least.devopsListPages);
    assert.equal(calls.graphRequests, 2 * least.graphRequests);
    assert.equal(calls.entraTokenRequests, 0);
  });
});
