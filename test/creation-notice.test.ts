import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { teamsWorkflowMessageSchema } from "./support/adaptive-card.js";
import { callerToken, knownPat, startTestStack, type TestStack } from "./support/dev-stack.js";

const DAY = 24 * 3600_000;

interface CreationNotice {
  id: string;
  type: string;
  reason: string;
  name: string;
  kind: string;
  owner: string;
  organization: string | null;
  version: string;
  expiresOn: string | null;
  createdBy: { type: string; caller?: Record<string, string> };
  summary: string;
  action: { description: string; cli: string; revoke: { method: string; path: string } };
}

/**
 * The creation notice on the dev stack (webhook sink): every new version tells its owner once,
 * who made it (the admin's identity, or rotation), never the value; a failed delivery does not
 * fail the write.
 */
describe("creation notices on the dev stack", () => {
  let stack: TestStack;
  let admin: string;
  const canaries: string[] = [];

  const created = (name: string) =>
    stack.webhookSink
      .received("/hook")
      .map((p) => p.body as CreationNotice)
      .filter((n) => n.name === name && n.type === "token-broker.creation-notice");
  const call = async (path: string, method = "GET", body?: unknown) => {
    const res = await stack.api(path, {
      method,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  const importPat = (name: string, extra: Record<string, unknown> = {}) => {
    const value = knownPat(stack);
    canaries.push(value);
    return call(`/inventory/${name}`, "PUT", {
      kind: "pat",
      value,
      expiresOn: new Date(Date.now() + 30 * DAY).toISOString(),
      owner: "team-a@contoso.com",
      organization: "contoso",
      scopes: ["vso.code"],
      ...extra,
    });
  };

  before(async () => {
    stack = await startTestStack(
      {},
      { rotationVerify: { retryDelaysMs: [] }, noticeDelivery: { backoffMs: 10, timeoutMs: 1000 } },
    );
    admin = await callerToken(stack, "dev-admin");
  });
  after(async () => {
    await stack.close();
  });

  test("an import with a value sends one creation notice naming the admin; metadata alone sends none", async () => {
    const res = await importPat("created-import");
    assert.equal(res.status, 201, res.text);
    const version = res.json()["version"];
    const [notice, ...more] = created("created-import");
    assert.equal(more.length, 0);
    assert.ok(notice !== undefined);
    assert.equal(notice.reason, "created");
    assert.equal(notice.kind, "pat");
    assert.equal(notice.version, version);
    assert.equal(notice.organization, "contoso");
    assert.equal(notice.owner, "team-a@contoso.com");
    assert.ok(notice.expiresOn !== null);
    assert.equal(notice.id, `created-import:${String(version)}:created`);
    // The caller's audit identity: its subject from the admin's token, never the token itself.
    const claims = JSON.parse(Buffer.from(admin.split(".")[1] ?? "", "base64url").toString()) as {
      sub: string;
      oid?: string;
    };
    assert.equal(notice.createdBy.type, "admin");
    assert.equal(notice.createdBy.caller?.["sub"], claims.sub);
    assert.ok(notice.summary.includes(claims.oid ?? claims.sub), notice.summary);
    assert.equal(notice.action.cli, "token-broker revoke created-import");
    assert.match(notice.action.description, /did not expect this, revoke it/);
    assert.ok(!JSON.stringify(stack.webhookSink.received()).includes(admin), "no token in a notice");

    // The Teams card too, a valid Adaptive Card.
    const cards = stack.webhookSink
      .received("/teams")
      .map((p) => p.body)
      .filter((c) => JSON.stringify(c).includes("created-import: new credential created"));
    assert.equal(cards.length, 1);
    assert.ok(teamsWorkflowMessageSchema.safeParse(cards[0]).success);

    // Recorded on the version: the vault's tag says it was delivered.
    const tags = (await stack.runtime.store.getProperties("created-import")).tags;
    assert.equal(tags["created-notice"], "sent");

    const update = await call("/inventory/created-import", "PUT", {
      kind: "pat",
      owner: "team-b@contoso.com",
    });
    assert.equal(update.status, 200, update.text);
    assert.equal(created("created-import").length, 1, "metadata only: no new version, no notice");

    // A new value is a new version: one more notice, for it.
    const again = await importPat("created-import");
    assert.equal(again.status, 200, again.text);
    const versions = created("created-import").map((n) => n.version);
    assert.deepEqual(versions, [version, again.json()["version"]]);
  });

  test("a broker-made PAT names the admin; a rotation sends one notice saying rotation", async () => {
    const made = await call("/inventory/created-rotated", "PUT", {
      kind: "pat",
      owner: "team-a@contoso.com",
      organization: "contoso",
      scopes: ["vso.code"],
      rotation: "auto",
      lifetimeDays: 30,
    });
    assert.equal(made.status, 201, made.text);
    assert.deepEqual(
      created("created-rotated").map((n) => n.createdBy.type),
      ["admin"],
    );
    const res = await call("/inventory/created-rotated/rotate", "POST");
    assert.equal(res.status, 200, res.text);
    const notices = created("created-rotated");
    assert.equal(notices.length, 2);
    const rotated = notices[1];
    assert.ok(rotated !== undefined);
    assert.deepEqual(rotated.createdBy, { type: "rotation" });
    assert.equal(rotated.version, res.json()["version"]);
    assert.match(rotated.summary, /rotation/);
    const value = (await stack.runtime.store.getSecret("created-rotated")).value;
    canaries.push(value);
  });

  test("a failed delivery does not fail the import; the notice sweep sends it later, once", async () => {
    // Webhook and Teams both refuse (400 is not retried).
    stack.webhookSink.failNext(400, 2);
    const res = await importPat("created-undelivered");
    assert.equal(res.status, 201, res.text);
    assert.equal(created("created-undelivered").length, 0);
    const stored = await stack.runtime.store.getProperties("created-undelivered");
    assert.equal(stored.version, res.json()["version"]);
    assert.match(stored.tags["created-notice"] ?? "", /^unsent:admin:/);
    const line = stack.logs.find(
      (l) => l.includes('"notice.creation_failed"') && l.includes("created-undelivered"),
    );
    assert.ok(line !== undefined);
    assert.match(line, /http 400/);

    const sweep = await call("/sweeps/notices", "POST");
    assert.equal(sweep.status, 200, sweep.text);
    assert.ok((sweep.json()["created"] as { name: string }[]).some((c) => c.name === "created-undelivered"));
    const [late, ...more] = created("created-undelivered");
    assert.equal(more.length, 0);
    assert.ok(late !== undefined);
    assert.equal(late.version, stored.version);
    assert.equal(late.createdBy.type, "admin");
    const tags = (await stack.runtime.store.getProperties("created-undelivered")).tags;
    assert.equal(tags["created-notice"], "sent");
    // Once: the next sweep has nothing owed.
    assert.equal((await call("/sweeps/notices", "POST")).status, 200);
    assert.equal(created("created-undelivered").length, 1);
  });

  test("no value in any notice or log line (canary)", () => {
    const posts = JSON.stringify(stack.webhookSink.received());
    assert.ok(canaries.length >= 4);
    for (const canary of canaries) {
      assert.ok(!posts.includes(canary), "a value is in a notice");
      assert.ok(!stack.logs.some((l) => l.includes(canary)), "a value is in the logs");
    }
  });
});
