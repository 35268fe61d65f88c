import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ConfigError, loadConfig, type ProbeSettings } from "../src/config.js";
import { registrations } from "../src/functions/registrations.js";
import { httpSender } from "../src/net/http-request.js";
import { proberOf } from "../src/probes/prober-setup.js";
import { DEV_MANAGED_IDENTITIES, DEV_TENANT_ID } from "../src/local/dev-identities.js";
import type { Telemetry } from "../src/telemetry/start.js";
import { ManualClock } from "./support/manual-clock.js";
import { logsContain, startTestStack, writePolicy, type TestStack } from "./support/dev-stack.js";
import { startOtlpReceiver, startTestTelemetry, type OtlpReceiver } from "./support/otlp-receiver.js";

/**
 * The prober on the dev stack: it signs in as the broker's control identity (the managed-identity
 * emulator), asks the broker's own HTTP surface for ado-read (must be issued) and nuget-feed (must
 * be denied), and records each outcome as a metric and a log line. One stack for the file: MSAL
 * keeps the managed-identity endpoint it first found for the whole process, so a second stack's
 * emulator would not be reached. The other cases build probers of their own (other identities,
 * other profiles) with the broker's own setup, against that stack.
 */

const PROBE_ENV = {
  BROKER_PROBE_SCHEDULE: "0 */5 * * * *",
  BROKER_PROBE_ALLOW_PROFILE: "ado-read",
  BROKER_PROBE_DENY_PROFILE: "nuget-feed",
};
const control = DEV_MANAGED_IDENTITIES.control;
const minting = DEV_MANAGED_IDENTITIES.minting;
const grantFor = (clientId: string, profiles: string[]) => ({
  description: "a prober's identity",
  match: { tid: DEV_TENANT_ID, appid: clientId },
  profiles,
});
const probeLines = (stack: TestStack) =>
  stack.logs
    .filter((l) => l.includes('"event":"probe.result"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("probers", () => {
  let receiver: OtlpReceiver;
  let telemetry: Telemetry;
  let stack: TestStack;
  const clock = new ManualClock(Date.now());

  before(async () => {
    receiver = await startOtlpReceiver();
    telemetry = await startTestTelemetry(receiver);
    stack = await startTestStack(
      {
        ...PROBE_ENV,
        BROKER_POLICY_FILE: writePolicy({
          grants: [
            // Right: the prober (the control identity) gets ado-read and graph-app, never nuget-feed.
            grantFor(control.clientId, ["ado-read", "graph-app"]),
            // Wrong: a grant that also hands nuget-feed to the minting identity.
            grantFor(minting.clientId, ["ado-read", "nuget-feed"]),
          ],
        }),
      },
      { timerClock: clock },
    );
  });
  after(async () => {
    await stack.close();
    await telemetry.shutdown();
    await receiver.close();
  });

  const probeMetric = async (probe: string, result: string) => {
    await telemetry.flush();
    return receiver
      .latest()
      .filter((p) => p.metric === "token_broker.probe" && p.attributes["probe"] === probe)
      .filter((p) => p.attributes["result"] === result)
      .reduce((n, p) => n + p.value, 0);
  };
  /** A prober as the broker would build it from these settings, against the stack. */
  const proberWith = (probe: Partial<ProbeSettings>) => {
    const p = proberOf(
      { ...stack.config, probe: { ...(stack.config.probe as ProbeSettings), ...probe } },
      stack.runtime.policy,
      {
        baseUrl: () => stack.brokerUrl,
        send: httpSender({ devStack: true }),
        metrics: stack.runtime.metrics,
        log: stack.runtime.log,
      },
    );
    assert.ok(p);
    return p;
  };

  test("a right policy: the allow probe is issued, the deny probe denied; both pass, on the timer too", async () => {
    const outcomes = await stack.runtime.prober?.run();
    assert.deepEqual(
      outcomes?.map((o) => [o.probe, o.profile, o.result, o.status, o.reason]),
      [
        ["allow", "ado-read", "pass", 200, undefined],
        ["deny", "nuget-feed", "pass", 403, undefined],
      ],
    );
    // The timer runs the same probes through the registration table.
    await clock.advance(5 * 60_000);
    const finished = () =>
      stack.logs.some((l) => l.includes('"timer.finished"') && l.includes('"probe-timer"'));
    const deadline = Date.now() + 10_000;
    while (!finished() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20)); // the probes' I/O, not the schedule
    }
    assert.equal(probeLines(stack).length, 4);
    assert.ok(probeLines(stack).every((l) => l["level"] === "info" && l["result"] === "pass"));
    assert.equal(await probeMetric("allow", "pass"), 2);
    assert.equal(await probeMetric("deny", "pass"), 2);
    // The broker's own audit trail shows the prober as a caller like any other.
    assert.ok(stack.logs.some((l) => l.includes('"event":"audit.token"') && l.includes(control.objectId)));
  });

  test("a policy that wrongly allows: the deny probe fails, an error line, no credential in it", async () => {
    const before = await probeMetric("deny", "fail");
    const lines = stack.logs.length;
    const outcomes = await proberWith({ clientId: minting.clientId }).run();
    const deny = outcomes.find((o) => o.probe === "deny");
    assert.equal(deny?.result, "fail");
    assert.equal(deny.status, 200);
    assert.equal(deny.reason, "issued a profile that must be denied");
    const line = probeLines({ ...stack, logs: stack.logs.slice(lines) }).find((l) => l["probe"] === "deny");
    assert.equal(line?.["level"], "error");
    assert.equal(line["result"], "fail");
    assert.equal((await probeMetric("deny", "fail")) - before, 1);
    const pat = await stack.runtime.store.getSecret("pat-contoso-nuget");
    assert.deepEqual(logsContain(stack.logs, [pat.value]), []);
  });

  test("issuance broken (Key Vault down): the allow probe fails with the broker's status", async () => {
    stack.keyVault.injectFault({ status: 503, count: 50, operation: "getSecret", retryAfterSeconds: 0 });
    try {
      const [allow] = await proberWith({ allowProfile: "graph-app", denyProfile: undefined }).run();
      assert.equal(allow?.result, "fail");
      assert.equal(allow.status, 503);
      assert.equal(allow.reason, "expected 200, got 503");
    } finally {
      stack.keyVault.clearFaults();
    }
  });

  test("a prober that cannot sign in fails both probes, naming why by class only", async () => {
    // An identity the managed-identity endpoint does not have.
    const outcomes = await proberWith({ clientId: "a1b2c3d4-0000-4000-8000-0000000000ff" }).run();
    assert.deepEqual(
      outcomes.map((o) => [o.probe, o.result, o.status]),
      [
        ["allow", "fail", 0],
        ["deny", "fail", 0],
      ],
    );
    assert.match(outcomes[0]?.reason ?? "", /^no caller token for the prober \(\w+\)$/);
  });
});

describe("prober settings", () => {
  const base = {
    KEY_VAULT_URL: "https://kv.vault.azure.net",
    BROKER_TENANT_ID: DEV_TENANT_ID,
    BROKER_AUDIENCE: "api://token-broker",
    BROKER_POLICY_FILE: "policy/dev.json",
  };
  const refuses = (env: Record<string, string>, pattern: RegExp) =>
    assert.throws(
      () => loadConfig({ ...base, ...env }),
      (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
    );

  test("off by default: no probe settings, the timer has no schedule", () => {
    const config = loadConfig(base);
    assert.equal(config.probe, undefined);
    const timer = registrations.timers.find((t) => t.name === "probe-timer");
    assert.equal(timer?.schedule(config), undefined);
    assert.equal(timer?.schedule(loadConfig({ ...base, ...PROBE_ENV })), "0 */5 * * * *");
  });

  test("refused: profiles without a schedule, no profile, the same profile twice, a bad schedule or URL", () => {
    refuses({ BROKER_PROBE_ALLOW_PROFILE: "ado-read" }, /BROKER_PROBE_SCHEDULE: is required/);
    refuses({ BROKER_PROBE_SCHEDULE: "0 */5 * * * *" }, /BROKER_PROBE_ALLOW_PROFILE: a prober needs/);
    refuses(
      { ...PROBE_ENV, BROKER_PROBE_DENY_PROFILE: "ado-read" },
      /BROKER_PROBE_DENY_PROFILE: must differ/,
    );
    refuses(
      { ...PROBE_ENV, BROKER_PROBE_SCHEDULE: "every minute" },
      /BROKER_PROBE_SCHEDULE: must be a six-field/,
    );
    refuses({ ...PROBE_ENV, BROKER_PROBE_URL: "http://broker.example.net" }, /BROKER_PROBE_URL/);
  });

  test("in Azure the broker probes its own host name; the prober signs in as AZURE_CLIENT_ID by default", () => {
    const config = loadConfig({
      ...base,
      ...PROBE_ENV,
      WEBSITE_HOSTNAME: "tb-abc.azurewebsites.net",
      AZURE_CLIENT_ID: control.clientId.toUpperCase(),
    });
    assert.equal(config.probe?.url, "https://tb-abc.azurewebsites.net");
    assert.equal(config.probe.clientId, control.clientId);
  });

  test("a profile the policy lacks stops the start", async () => {
    await assert.rejects(
      startTestStack({ ...PROBE_ENV, BROKER_PROBE_DENY_PROFILE: "no-such-profile" }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /BROKER_PROBE_DENY_PROFILE: names no profile of the policy/.test(e.message),
    );
  });
});
