import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { VersionedItem } from "../src/inventory/managed-credential.js";
import { noticeOf } from "../src/notices/notice.js";
import { markSent, planNotice, sentFor } from "../src/notices/planner.js";
import { teamsMessage } from "../src/notices/teams-card.js";
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

  test("a retired global PAT: once per version, before rotation failures and thresholds, after expiry", () => {
    const t = [7, 1];
    const retired = (days: number, extra: Partial<VersionedItem> = {}) =>
      item(days, { status: "retired", organization: "*", warnings: ["global-pat"], ...extra });
    assert.deepEqual(planNotice(retired(200), undefined, t, NOW), { due: "retired" });
    assert.deepEqual(planNotice(retired(3, { rotationError: "x" }), undefined, t, NOW), { due: "retired" });
    assert.deepEqual(planNotice(retired(200), "v2:retired", t, NOW), { already: "retired" });
    assert.deepEqual(planNotice(retired(200), "v1:retired", t, NOW), { due: "retired" });
    assert.deepEqual(planNotice(retired(-1), "v2:retired", t, NOW), { due: "expired" });
    assert.deepEqual(sentFor("v2:retired", "v2"), ["retired"]);

    const notice = noticeOf(retired(200), "retired", NOW);
    assert.equal(notice.reason, "retired");
    assert.equal(notice.id, "pat-feed:v2:retired");
    assert.equal(notice.action.cli, "token-broker rotate pat-feed --org ORG");
    assert.match(notice.summary, /2026-12-01/);
    const card = teamsWorkflowMessageSchema.safeParse(teamsMessage(notice, undefined));
    assert.ok(card.success);
    assert.match(JSON.stringify(teamsMessage(notice, undefined)), /attention/);
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
