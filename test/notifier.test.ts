import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createLogger } from "../src/log.js";
import { FetchRejectedError, type HttpRequest, type HttpSend } from "../src/net/http-request.js";
import { DeliveryError } from "../src/notices/delivery.js";
import type { Notice } from "../src/notices/notice.js";
import { Notifier, type NoticeTargets } from "../src/notices/notifier.js";
import { creationNoticeOf } from "../src/notices/creation-notice.js";
import { teamsWorkflowMessageSchema } from "./support/adaptive-card.js";

const WEBHOOK = "https://hooks.example/notices?key=webhook-key";
const TEAMS = "https://teams.example/workflows/default?sig=default-sig";
const OPS_TEAMS = "https://teams.example/workflows/ops?sig=ops-sig";

const notice: Notice = {
  id: "pat-feed:v1:7",
  type: "token-broker.expiry-notice",
  name: "pat-feed",
  kind: "pat",
  owner: "Ops@Contoso.com",
  organization: "contoso",
  expiresOn: "2026-12-09T00:00:00.000Z",
  daysLeft: 7,
  status: "expiring",
  rotation: "manual",
  version: "v1",
  threshold: 7,
  reason: "expiring",
  summary: "pat-feed expires in 7 days",
  action: {
    description: "Rotate it",
    rotate: { method: "POST", path: "/api/inventory/pat-feed/rotate" },
    cli: "token-broker rotate pat-feed",
  },
  sentAt: "2026-12-02T00:00:00.000Z",
};

/** The network port: answers by URL and records what was sent. */
function transport(answer: (url: string) => number | Error) {
  const sent: HttpRequest[] = [];
  const send: HttpSend = (request) => {
    sent.push(request);
    const outcome = answer(request.url);
    if (outcome instanceof Error) return Promise.reject(outcome);
    return Promise.resolve({ status: outcome, headers: {}, body: "" });
  };
  return { sent, send };
}

function notifier(targets: Partial<NoticeTargets>, send: HttpSend) {
  const lines: string[] = [];
  const n = new Notifier(
    {
      webhookUrl: undefined,
      teamsUrl: undefined,
      teamsByOwner: new Map(),
      runbookUrl: undefined,
      ...targets,
    },
    { timeoutMs: 1000, tries: 2, backoffMs: 0, send },
    createLogger((line) => lines.push(line)),
  );
  return { n, lines };
}

describe("Notifier", () => {
  test("no remote channel: the log alone, and it is delivered", async () => {
    const { sent, send } = transport(() => 200);
    const { n, lines } = notifier({}, send);
    assert.deepEqual(await n.send(notice), ["log"]);
    assert.equal(sent.length, 0);
    assert.match(lines.join("\n"), /notice\.sent/);
  });

  test("the webhook gets the notice as JSON; Teams gets a card", async () => {
    const { sent, send } = transport(() => 202);
    const { n } = notifier({ webhookUrl: WEBHOOK, teamsUrl: TEAMS }, send);
    assert.deepEqual(await n.send(notice), ["webhook", "teams", "log"]);
    const byUrl = new Map(sent.map((r) => [r.url, JSON.parse(r.body ?? "null") as unknown]));
    assert.deepEqual(byUrl.get(WEBHOOK), notice);
    assert.ok(byUrl.has(TEAMS));
    assert.notDeepEqual(byUrl.get(TEAMS), notice);
  });

  test("the owner's own Teams target wins over the default, whatever the owner's case", async () => {
    const { sent, send } = transport(() => 200);
    const { n } = notifier(
      { teamsUrl: TEAMS, teamsByOwner: new Map([["ops@contoso.com", OPS_TEAMS]]) },
      send,
    );
    await n.send(notice);
    await n.send({ ...notice, owner: "someone@else.example" });
    await n.send({ ...notice, owner: null });
    assert.deepEqual(
      sent.map((r) => r.url),
      [OPS_TEAMS, TEAMS, TEAMS],
    );
  });

  test("delivered only when every remote channel accepted; the failures are named without URLs", async () => {
    const { send } = transport((url) =>
      url === TEAMS ? 400 : url === WEBHOOK ? new FetchRejectedError("x") : 200,
    );
    const { n, lines } = notifier({ webhookUrl: WEBHOOK, teamsUrl: TEAMS }, send);
    await assert.rejects(
      n.send(notice),
      (e: unknown) => e instanceof DeliveryError && e.reason === "webhook: refused; teams: http 400",
    );
    const log = lines.join("\n");
    assert.match(log, /notice\.failed/);
    assert.doesNotMatch(log, /notice\.sent/);
    for (const secret of ["webhook-key", "default-sig"]) assert.ok(!log.includes(secret), secret);
  });

  test("one channel failing fails the notice even when the other accepted", async () => {
    const { send } = transport((url) => (url === WEBHOOK ? 503 : 200));
    const { n } = notifier({ webhookUrl: WEBHOOK, teamsUrl: TEAMS }, send);
    await assert.rejects(
      n.send(notice),
      (e: unknown) => e instanceof DeliveryError && e.reason === "webhook: http 503",
    );
  });

  test("a creation notice goes out as JSON and as its own card, naming who made it", async () => {
    const { sent, send } = transport(() => 200);
    const { n, lines } = notifier({ webhookUrl: WEBHOOK, teamsUrl: TEAMS }, send);
    const created = creationNoticeOf(
      {
        ...notice,
        warnings: [],
        scopes: [],
        rotatedOn: null,
        enabled: true,
        createdOn: null,
        updatedOn: null,
        contentType: null,
      },
      { type: "admin", caller: { iss: "https://issuer.example", sub: "s-1", oid: "o-1" } },
      Date.parse("2026-12-02T00:00:00.000Z"),
    );
    await n.send(created);
    const byUrl = new Map(sent.map((r) => [r.url, r.body ?? ""]));
    assert.deepEqual(JSON.parse(byUrl.get(WEBHOOK) ?? "null"), created);
    const card = byUrl.get(TEAMS) ?? "";
    assert.ok(teamsWorkflowMessageSchema.safeParse(JSON.parse(card)).success);
    assert.match(card, /pat-feed: new credential created/);
    assert.match(card, /o-1/);
    assert.match(card, /token-broker revoke pat-feed/);
    assert.match(lines.join("\n"), /notice\.sent.*"reason":"created"/);
  });
});
