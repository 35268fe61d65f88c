import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DEV_POLICY_FILE } from "../src/local/dev-stack.js";
import { startWebhookSink, type WebhookSink } from "../src/local/emulators/webhook-sink.js";
import { createLogger } from "../src/log.js";
import { createRuntime } from "../src/runtime.js";
import { keyVaultClientOptions } from "../src/vault/key-vault-store.js";
import { teamsWorkflowMessageSchema } from "./support/adaptive-card.js";
import { callerToken, knownPat, scratchDir, startTestStack, type TestStack } from "./support/dev-stack.js";
import { ManualClock } from "./support/manual-clock.js";

const DAY = 24 * 3600_000;
const RUNBOOK = "https://wiki.contoso.com/token-broker/renew";

interface Named {
  name: string;
  threshold: number | string;
}
interface Report {
  notified: Named[];
  alreadyNotified: Named[];
  failed: (Named & { reason: string })[];
  skipped: { name: string; reason: string }[];
  checked: number;
}
interface WebhookNotice {
  id: string;
  type: string;
  name: string;
  kind: string;
  owner: string;
  organization: string;
  expiresOn: string;
  daysLeft: number;
  status: string;
  rotation: string;
  version: string;
  threshold: number | string;
  reason: string;
  action: { rotate: { method: string; path: string }; cli: string; description: string };
}

/** The dev policy plus a Teams channel of its own for one owner. */
function policyWithTeamsTarget(owner: string, url: string): string {
  const base = JSON.parse(readFileSync(DEV_POLICY_FILE, "utf8")) as Record<string, unknown>;
  const file = path.join(scratchDir(), "policy.json");
  writeFileSync(file, JSON.stringify({ ...base, notices: { teams: { [owner]: url } } }));
  return file;
}

describe("expiry notices on the dev stack", () => {
  let stack: TestStack;
  /** Team X's own Teams channel (policy `notices.teams`). */
  let teamX: WebhookSink;
  let vault: SecretClient;
  let admin: string;
  let offset = 0;
  const canaries: string[] = [];
  const texts: string[] = [];

  const hooks = (name: string) =>
    stack.webhookSink
      .received("/hook")
      .map((p) => p.body as WebhookNotice)
      // Imports send creation notices too (test/creation-notice.test.ts): these are about expiry.
      .filter((n) => n.name === name && n.type === "token-broker.expiry-notice");
  const cards = (p = "/teams") => stack.webhookSink.received(p).map((r) => r.body);
  const mine = (list: Named[], name: string) => list.filter((n) => n.name === name);

  async function sweepResponse(
    token = admin,
  ): Promise<{ status: number; text: string; retryAfter: string | null }> {
    const res = await stack.api("/sweeps/notices", {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    const text = await res.text();
    texts.push(text);
    return { status: res.status, text, retryAfter: res.headers.get("retry-after") };
  }
  async function sweep(): Promise<Report> {
    const { status, text } = await sweepResponse();
    assert.equal(status, 200, text);
    return JSON.parse(text) as Report;
  }
  async function put(name: string, days: number, extra: Record<string, unknown> = {}) {
    const value = knownPat(stack);
    canaries.push(value);
    const res = await stack.api(`/inventory/${name}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({
        kind: "pat",
        value,
        expiresOn: new Date(Date.now() + offset + days * DAY).toISOString(),
        owner: "team-a@contoso.com",
        organization: "contoso",
        scopes: ["vso.code"],
        ...extra,
      }),
    });
    const text = await res.text();
    assert.ok(res.status === 201 || res.status === 200, text);
    return JSON.parse(text) as { version: string };
  }

  before(async () => {
    teamX = await startWebhookSink();
    stack = await startTestStack(
      {
        BROKER_NOTICE_DAYS: "7,1",
        BROKER_NOTICE_RUNBOOK_URL: RUNBOOK,
        BROKER_POLICY_FILE: policyWithTeamsTarget("team-x@contoso.com", `${teamX.url}/teams`),
      },
      { now: () => Date.now() + offset, noticeDelivery: { backoffMs: 10, timeoutMs: 1000 } },
    );
    vault = new SecretClient(
      stack.keyVault.url,
      new ManagedIdentityCredential({ clientId: stack.identities.control.clientId }),
      keyVaultClientOptions({ extraCa: readFileSync(stack.caFile, "utf8"), maxRetries: 0 }),
    );
    admin = await callerToken(stack, "dev-admin");
  });

  after(async () => {
    await stack.close();
    await teamX.close();
  });

  test("a credential 3 days out is notified once; one 40 days out is not", async () => {
    const { version } = await put("notice-soon", 3);
    await put("notice-later", 40);
    const first = await sweep();
    assert.deepEqual(mine(first.notified, "notice-soon"), [{ name: "notice-soon", threshold: 7 }]);
    assert.deepEqual(mine(first.notified, "notice-later"), []);
    assert.ok(first.checked >= 2);

    const [notice, ...more] = hooks("notice-soon");
    assert.equal(more.length, 0);
    assert.ok(notice !== undefined);
    assert.equal(notice.type, "token-broker.expiry-notice");
    assert.equal(notice.id, `notice-soon:${version}:7`);
    assert.equal(notice.owner, "team-a@contoso.com");
    assert.equal(notice.organization, "contoso");
    assert.equal(notice.kind, "pat");
    assert.equal(notice.status, "expiring");
    assert.equal(notice.rotation, "manual");
    assert.equal(notice.reason, "expiring");
    assert.equal(notice.threshold, 7);
    assert.ok(notice.daysLeft === 2 || notice.daysLeft === 3);
    assert.deepEqual(notice.action.rotate, { method: "POST", path: "/api/inventory/notice-soon/rotate" });
    assert.match(notice.action.cli, /^token-broker import notice-soon/);
    assert.deepEqual(hooks("notice-later"), []);

    // Recorded on that version, with every other tag kept.
    const tags = (await vault.getSecret("notice-soon")).properties.tags ?? {};
    assert.equal(tags["notice-sent-for"], `${version}:7`);
    assert.equal(tags["owner"], "team-a@contoso.com");
    assert.equal(tags["managed-by"], "token-broker");

    const second = await sweep();
    assert.deepEqual(mine(second.notified, "notice-soon"), []);
    assert.deepEqual(mine(second.alreadyNotified, "notice-soon"), [{ name: "notice-soon", threshold: 7 }]);
    assert.equal(hooks("notice-soon").length, 1);
  });

  test("a failed first delivery is retried within the sweep", async () => {
    await put("notice-retry", 2);
    stack.webhookSink.failNext(503, 1);
    const before = stack.webhookSink.stats().failed;
    const report = await sweep();
    assert.deepEqual(mine(report.notified, "notice-retry"), [{ name: "notice-retry", threshold: 7 }]);
    assert.equal(stack.webhookSink.stats().failed, before + 1);
    assert.equal(hooks("notice-retry").length, 1);
  });

  test("a delivery that keeps failing is not recorded, and the next sweep sends it", async () => {
    await put("notice-down", 2);
    // Three tries on each of the two channels.
    stack.webhookSink.failNext(500, 6);
    const report = await sweep();
    assert.deepEqual(mine(report.notified, "notice-down"), []);
    const [failed] = mine(report.failed, "notice-down") as (Named & { reason: string })[];
    assert.ok(failed !== undefined);
    assert.match(failed.reason, /http 500/);
    assert.doesNotMatch(failed.reason, /127\.0\.0\.1|http:\/\//);
    assert.equal((await vault.getSecret("notice-down")).properties.tags?.["notice-sent-for"], undefined);
    assert.ok(stack.logs.some((l) => l.includes('"notice.failed"') && l.includes("notice-down")));

    const next = await sweep();
    assert.deepEqual(mine(next.notified, "notice-down"), [{ name: "notice-down", threshold: 7 }]);
    assert.equal(hooks("notice-down").length, 1);
  });

  test("concurrent sweeps (three route calls and a second instance) send one notice", async () => {
    await put("notice-race", 4);
    stack.webhookSink.delayMs(150);
    const other = createRuntime(stack.config, {
      extraCa: readFileSync(stack.caFile, "utf8"),
      log: createLogger((line) => stack.logs.push(line)),
    });
    try {
      const [a, b, c, d] = await Promise.all([
        sweepResponse(),
        sweepResponse(),
        sweepResponse(),
        other.notices.run("timer"),
      ]);
      let notifiedTimes = 0;
      let conflicts = d.acquired ? 0 : 1;
      for (const r of [a, b, c]) {
        if (r.status === 409) {
          conflicts += 1;
          assert.equal(r.retryAfter, "30");
          const problem = JSON.parse(r.text) as { code: string };
          assert.equal(problem.code, "sweep_in_progress");
        } else {
          assert.equal(r.status, 200, r.text);
          notifiedTimes += mine((JSON.parse(r.text) as Report).notified, "notice-race").length;
        }
      }
      if (d.acquired) notifiedTimes += mine(d.value.notified, "notice-race").length;
      assert.equal(notifiedTimes, 1);
      // The first sweep holds the lease while the slow receiver answers: the others find it taken.
      assert.ok(conflicts >= 1);
      assert.equal(hooks("notice-race").length, 1);
      assert.equal(other.leases.scope, "blob");
    } finally {
      stack.webhookSink.delayMs(0);
    }
  });

  test("a new version notifies again", async () => {
    const first = await put("notice-renewed", 3);
    await sweep();
    const renewed = await put("notice-renewed", 5);
    assert.notEqual(renewed.version, first.version);
    const report = await sweep();
    assert.deepEqual(mine(report.notified, "notice-renewed"), [{ name: "notice-renewed", threshold: 7 }]);
    assert.deepEqual(
      hooks("notice-renewed").map((n) => n.version),
      [first.version, renewed.version],
    );
  });

  test("a failed rotation raises a notice at once, whatever the date", async () => {
    const { version } = await put("notice-rotfail", 60, {
      rotation: "auto",
      lifetimeDays: 30,
      authorizationId: "0f8fad5b-d9cb-469f-a165-70867728950e",
    });
    const current = (await vault.getSecret("notice-rotfail")).properties;
    await vault.updateSecretProperties("notice-rotfail", version, {
      tags: { ...current.tags, "rotation-error": "pat-api-unavailable" },
    });
    const report = await sweep();
    assert.deepEqual(mine(report.notified, "notice-rotfail"), [
      { name: "notice-rotfail", threshold: "rotation-failed" },
    ]);
    const [notice] = hooks("notice-rotfail");
    assert.equal(notice?.reason, "rotation-failed");
    assert.equal(notice.status, "rotation-failed");
    const tags = (await vault.getSecret("notice-rotfail")).properties.tags ?? {};
    assert.equal(tags["notice-sent-for"], `${version}:rotation-failed`);
    assert.equal(tags["rotation-error"], "pat-api-unavailable");
    assert.equal(mine((await sweep()).notified, "notice-rotfail").length, 0);
  });

  test("an owner's own Teams target from the policy gets that owner's cards", async () => {
    await put("notice-teamx", 3, { owner: "Team-X@contoso.com" });
    const report = await sweep();
    assert.deepEqual(mine(report.notified, "notice-teamx"), [{ name: "notice-teamx", threshold: 7 }]);
    const own = teamX
      .received("/teams")
      .map((p) => JSON.stringify(p.body))
      .filter((c) => !c.includes("new credential created"));
    assert.equal(own.length, 1);
    assert.match(own[0] ?? "", /notice-teamx expires in/);
    assert.ok(!cards().some((c) => JSON.stringify(c).includes("notice-teamx")));
    assert.equal(hooks("notice-teamx")[0]?.owner, "Team-X@contoso.com");
    const parsed = teamsWorkflowMessageSchema.safeParse(teamX.received()[0]?.body);
    assert.ok(parsed.success);
  });

  test("every Teams card is a valid Adaptive Card 1.5 that reads at a glance", () => {
    const all = cards();
    assert.ok(all.length >= 5);
    for (const body of all) {
      const parsed = teamsWorkflowMessageSchema.safeParse(body);
      assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
    }
    const soon = all.find((c) => JSON.stringify(c).includes("notice-soon expires in")) as
      { attachments: [{ content: { body: unknown[]; actions: { url: string }[] } }] } | undefined;
    assert.ok(soon !== undefined);
    const card = soon.attachments[0].content;
    const text = JSON.stringify(card.body);
    assert.match(text, /"style":"warning"/);
    assert.match(text, /"type":"FactSet"/);
    assert.match(text, /team-a@contoso.com/);
    assert.deepEqual(
      card.actions.map((a) => a.url),
      [RUNBOOK],
    );
    const failed = all.find((c) => JSON.stringify(c).includes("notice-rotfail expires in"));
    assert.ok(failed !== undefined, "the failed rotation has its card");
    assert.match(JSON.stringify(failed), /Automatic rotation failed/);
    assert.match(JSON.stringify(failed), /"style":"attention"/);
  });

  test("7,1 thresholds warn again the day before, then the expired get a final notice", async () => {
    await put("notice-twice", 3);
    await sweep();
    assert.deepEqual(
      hooks("notice-twice").map((n) => n.threshold),
      [7],
    );
    // The broker's clock moves on; callers' tokens would not verify against it, so the sweep is
    // run as the timer runs it.
    const run = async () => {
      const outcome = await stack.runtime.notices.run("timer");
      assert.ok(outcome.acquired);
      return outcome.value;
    };
    try {
      offset = 2.5 * DAY;
      const dayBefore = await run();
      assert.deepEqual(mine(dayBefore.notified, "notice-twice"), [{ name: "notice-twice", threshold: 1 }]);
      assert.deepEqual(mine(dayBefore.notified, "notice-later"), []);
      const tags = (await vault.getSecret("notice-twice")).properties.tags ?? {};
      assert.match(tags["notice-sent-for"] ?? "", /^[0-9a-f]+:7,1$/);

      offset = 3.5 * DAY;
      const expired = await run();
      assert.deepEqual(mine(expired.notified, "notice-twice"), [
        { name: "notice-twice", threshold: "expired" },
      ]);
      const last = hooks("notice-twice").at(-1);
      assert.equal(last?.reason, "expired");
      assert.equal(last.status, "expired");
      assert.equal((await stack.runtime.inventory.get("notice-twice")).status, "expired");
      const again = await run();
      assert.deepEqual(mine(again.alreadyNotified, "notice-twice"), [
        { name: "notice-twice", threshold: "expired" },
      ]);
      assert.equal(hooks("notice-twice").length, 3);
      texts.push(JSON.stringify([dayBefore, expired, again]));
    } finally {
      offset = 0;
    }
  });

  test("the route needs Secrets.Admin and takes no query", async () => {
    const caller = await callerToken(stack, "dev-caller");
    const denied = await sweepResponse(caller);
    assert.equal(denied.status, 403);
    const unauthenticated = await stack.api("/sweeps/notices", { method: "POST" });
    assert.equal(unauthenticated.status, 401);
    const bad = await stack.api("/sweeps/notices?force=1", {
      method: "POST",
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get("content-type"), "application/problem+json");
  });

  test("no PAT value in any notice, report or log line; no webhook URL in the logs", () => {
    const notices = stack.webhookSink.received().map((p) => JSON.stringify(p.body));
    assert.ok(canaries.length >= 8);
    for (const canary of canaries) {
      for (const [where, all] of [
        ["notices", notices],
        ["reports", texts],
        ["logs", stack.logs],
      ] as const) {
        assert.ok(!all.some((t) => t.includes(canary)), `a PAT value is in the ${where}`);
      }
    }
    assert.ok(!stack.logs.some((l) => l.includes(stack.webhookSink.url)));
    assert.ok(stack.logs.some((l) => l.includes('"notice.sent"')));
    assert.ok(stack.logs.some((l) => l.includes('"notice.sweep"')));
  });
});

describe("the notice timer on the local host", () => {
  test("runs on its NCRONTAB schedule and notifies", async () => {
    const timerClock = new ManualClock(Date.now());
    const stack = await startTestStack({ BROKER_NOTICE_SCHEDULE: "*/1 * * * * *" }, { timerClock });
    try {
      const got = () =>
        stack.webhookSink
          .received("/hook")
          .map((p) => p.body as { name: string; type: string })
          .filter((n) => n.name === "notice-timer" && n.type === "token-broker.expiry-notice");
      const admin = await callerToken(stack, "dev-admin");
      const res = await stack.api("/inventory/notice-timer", {
        method: "PUT",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: JSON.stringify({
          kind: "pat",
          value: knownPat(stack),
          expiresOn: new Date(Date.now() + 2 * DAY).toISOString(),
          owner: "team-t@contoso.com",
          organization: "contoso",
        }),
      });
      assert.equal(res.status, 201, await res.text());
      assert.equal(got().length, 0, "nothing before the schedule's next occurrence");
      await timerClock.advance(1000);
      const deadline = Date.now() + 5000;
      // The sweep's own line comes after the delivery and the vault write: wait for both.
      const swept = () =>
        stack.logs.some((l) => l.includes('"notice.sweep"') && l.includes('"trigger":"timer"'));
      while ((got().length === 0 || !swept()) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20)); // the sweep's I/O, not the schedule
      }
      assert.equal(got().length, 1);
      assert.ok(swept());
    } finally {
      await stack.close();
    }
  });
});
