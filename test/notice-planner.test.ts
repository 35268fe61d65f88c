import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadConfig } from "../src/config.js";
import type { VersionedItem } from "../src/inventory/managed-credential.js";
import { BlobLeaseProvider } from "../src/lease/blob-lease.js";
import { ProcessLeaseProvider, withLease } from "../src/lease/lease.js";
import { startAzuriteBlob } from "../src/local/emulators/azurite.js";
import { createLogger } from "../src/log.js";
import { noticeOf } from "../src/notices/notice.js";
import { markSent, planNotice, sentFor } from "../src/notices/planner.js";
import { teamsMessage } from "../src/notices/teams-card.js";
import { policySchema } from "../src/policy/schema.js";
import { teamsWorkflowMessageSchema } from "./support/adaptive-card.js";

const DAY = 24 * 3600_000;
const NOW = Date.parse("2026-11-20T08:00:00Z");

function item(days: number | null, extra: Partial<VersionedItem> = {}): VersionedItem {
  return {
    name: "pat-feed",
    kind: "pat",
    owner: "team-a@contoso.com",
    organization: "contoso",
    scopes: ["vso.packaging"],
    expiresOn: days === null ? null : new Date(NOW + days * DAY).toISOString(),
    daysLeft: days === null ? null : Math.floor(days),
    status: "active",
    rotation: "manual",
    rotatedOn: null,
    version: "v2",
    enabled: true,
    createdOn: null,
    updatedOn: null,
    contentType: null,
    warnings: [],
    ...extra,
  };
}

describe("notice planner", () => {
  test("the tag is per version: another version's tag counts as nothing sent", () => {
    assert.deepEqual(sentFor("v2:7,1", "v2"), [7, 1]);
    assert.deepEqual(sentFor("v1:7,1", "v2"), []);
    assert.deepEqual(sentFor("garbage", "v2"), []);
    assert.deepEqual(sentFor("v2:7,expired,rotation-failed,x", "v2"), [7, "expired", "rotation-failed"]);
    assert.equal(markSent(undefined, "v2", 7), "v2:7");
    assert.equal(markSent("v2:7", "v2", 1), "v2:7,1");
    assert.equal(markSent("v2:7", "v2", 7), "v2:7");
    assert.equal(markSent("v1:7,1", "v2", "expired"), "v2:expired");
  });

  test("thresholds: the smallest window it is in, each once per version", () => {
    const t = [7, 1];
    assert.deepEqual(planNotice(item(40), undefined, t, NOW), { none: "outside-window" });
    assert.deepEqual(planNotice(item(3), undefined, t, NOW), { due: 7 });
    assert.deepEqual(planNotice(item(3), "v2:7", t, NOW), { already: 7 });
    assert.deepEqual(planNotice(item(3), "v1:7", t, NOW), { due: 7 });
    assert.deepEqual(planNotice(item(0.5), "v2:7", t, NOW), { due: 1 });
    assert.deepEqual(planNotice(item(0.5), "v2:7,1", t, NOW), { already: 1 });
    // First seen inside the 1-day window: the 1-day notice only, and no 7-day one after it.
    assert.deepEqual(planNotice(item(0.5), undefined, t, NOW), { due: 1 });
    assert.deepEqual(planNotice(item(0.5), "v2:1", t, NOW), { already: 1 });
  });

  test("expired and failed rotations notify whatever the window; disabled never", () => {
    const t = [7];
    assert.deepEqual(planNotice(item(-1), "v2:7", t, NOW), { due: "expired" });
    assert.deepEqual(planNotice(item(-1), "v2:7,expired", t, NOW), { already: "expired" });
    assert.deepEqual(planNotice(item(90, { rotationError: "x" }), undefined, t, NOW), {
      due: "rotation-failed",
    });
    assert.deepEqual(planNotice(item(null, { rotationError: "x" }), undefined, t, NOW), {
      due: "rotation-failed",
    });
    assert.deepEqual(planNotice(item(3, { enabled: false }), undefined, t, NOW), { none: "disabled" });
    assert.deepEqual(planNotice(item(null), undefined, t, NOW), { none: "no-expiry" });
  });

  test("an auto-rotated credential in the window is reported as overdue rotation", () => {
    const notice = noticeOf(item(3, { rotation: "auto" }), 7, NOW);
    assert.equal(notice.reason, "rotation-overdue");
    assert.match(notice.summary, /rotation is overdue/);
    assert.equal(noticeOf(item(3), 7, NOW).reason, "expiring");
  });

  test("Teams cards are valid Adaptive Cards, coloured by urgency, owner text escaped", () => {
    const cases = [
      [noticeOf(item(3), 7, NOW), "warning"],
      [noticeOf(item(0.5), 1, NOW), "attention"],
      [noticeOf(item(-1), "expired", NOW), "attention"],
      [
        noticeOf(
          item(null, { rotationError: "x", owner: "[click](https://evil.example)" }),
          "rotation-failed",
          NOW,
        ),
        "attention",
      ],
    ] as const;
    for (const [notice, style] of cases) {
      for (const runbook of [undefined, "https://wiki.contoso.com/renew"]) {
        const message = teamsMessage(notice, runbook);
        const parsed = teamsWorkflowMessageSchema.safeParse(message);
        assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
        assert.match(JSON.stringify(message), new RegExp(`"style":"${style}"`));
      }
    }
    assert.doesNotMatch(JSON.stringify(teamsMessage(cases[3][0], undefined)), /\[click\]\(/);
  });
});

describe("notice settings", () => {
  const base = {
    KEY_VAULT_URL: "https://kv.vault.azure.net",
    BROKER_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
    BROKER_AUDIENCE: "api://token-broker",
    BROKER_POLICY_FILE: "/policy.json",
  };
  test("BROKER_NOTICE_DAYS takes several thresholds, largest first, below the rotation start", () => {
    assert.deepEqual(loadConfig({ ...base, BROKER_NOTICE_DAYS: "1, 7" }).noticeDays, [7, 1]);
    assert.deepEqual(loadConfig({ ...base, BROKER_NOTICE_DAYS: "7,7,3" }).noticeDays, [7, 3]);
    for (const bad of ["0", "7,x", "7,,1", "1,2,3,4,5,6"]) {
      assert.throws(() => loadConfig({ ...base, BROKER_NOTICE_DAYS: bad }), /BROKER_NOTICE_DAYS/, bad);
    }
    assert.throws(
      () => loadConfig({ ...base, BROKER_NOTICE_DAYS: "14,1" }),
      /BROKER_ROTATE_BEFORE_DAYS: must be greater than the largest BROKER_NOTICE_DAYS/,
    );
  });

  test("lease storage: a blob service URL first, else the Functions storage connection string", () => {
    const conn =
      "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=a2V5;EndpointSuffix=core.windows.net";
    assert.deepEqual(loadConfig({ ...base, AzureWebJobsStorage: conn }).leaseStorage, {
      kind: "connection-string",
      connectionString: conn,
    });
    assert.deepEqual(
      loadConfig({
        ...base,
        AzureWebJobsStorage: conn,
        AzureWebJobsStorage__blobServiceUri: "https://st.blob.core.windows.net/",
      }).leaseStorage,
      { kind: "service-url", url: "https://st.blob.core.windows.net" },
    );
    const secret = "SECRETKEY123";
    assert.throws(
      () => loadConfig({ ...base, AzureWebJobsStorage: `junk;${secret}` }),
      (e: Error) => e.message.includes("AzureWebJobsStorage") && !e.message.includes(secret),
    );
  });

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

describe("leases", () => {
  test("a process lease is held once until released", async () => {
    const leases = new ProcessLeaseProvider();
    const inner = await withLease(leases, "x", async () => (await leases.tryAcquire("x")) === undefined);
    assert.deepEqual(inner, { acquired: true, value: true });
    assert.ok((await leases.tryAcquire("x")) !== undefined);
  });

  test("a blob lease (Azurite) excludes another provider until released", async () => {
    const azurite = await startAzuriteBlob();
    try {
      const log = createLogger(() => undefined);
      const storage = { kind: "connection-string" as const, connectionString: azurite.connectionString };
      const noCredential = { getToken: () => Promise.resolve(null) };
      const a = new BlobLeaseProvider({ storage, credential: noCredential, log, renewEveryMs: 50 });
      const b = new BlobLeaseProvider({ storage, credential: noCredential, log });
      const held = await a.tryAcquire("sweep");
      assert.ok(held !== undefined);
      await new Promise((resolve) => setTimeout(resolve, 120));
      assert.equal(held.lost(), false);
      assert.equal(await b.tryAcquire("sweep"), undefined);
      assert.ok((await b.tryAcquire("other")) !== undefined);
      await held.release();
      const next = await b.tryAcquire("sweep");
      assert.ok(next !== undefined);
      await next.release();
    } finally {
      await azurite.close();
    }
  });

  test("a lease whose renewal fails counts as lost, so its holder stops writing", async () => {
    const azurite = await startAzuriteBlob();
    const log = createLogger(() => undefined);
    const storage = { kind: "connection-string" as const, connectionString: azurite.connectionString };
    const noCredential = { getToken: () => Promise.resolve(null) };
    const provider = new BlobLeaseProvider({ storage, credential: noCredential, log, renewEveryMs: 50 });
    const held = await provider.tryAcquire("sweep");
    assert.ok(held !== undefined);
    await azurite.close();
    const deadline = Date.now() + 20_000;
    while (!held.lost() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(held.lost(), true);
    await held.release();
  });
});
