import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { READ_BACK_LIMIT, startWebhookSink } from "../src/local/emulators/webhook-sink.js";
import { callerToken, startTestStack, type TestStack } from "./support/dev-stack.js";

/**
 * What a fresh `npm start` shows: a PAT in the notice window the notice sweep warns about (read
 * back from the webhook sink as a user would, with plain HTTP), and a PAT the rotation sweep rotates.
 */

interface Item {
  name: string;
  status: string;
  version: string;
  rotation: string;
  expiresOn: string;
}

describe("the dev stack's sample credentials", () => {
  let stack: TestStack;
  let ops: string;
  let admin: string;
  /** Every value the vault holds: none may reach a notice. */
  let values: string[];

  const call = async (token: string, path: string, method = "GET") => {
    const res = await stack.api(path, { method, headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const hook = async () => {
    const res = await fetch(`${stack.webhookSink.url}/hook`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    return { text: await res.clone().text(), notices: (await res.json()) as Record<string, unknown>[] };
  };

  before(async () => {
    stack = await startTestStack({}, { rotationVerify: { retryDelaysMs: [] } });
    ops = await callerToken(stack, "dev-ops");
    admin = await callerToken(stack, "dev-admin");
    const seeded = [
      "pat-contoso-nuget",
      "pat-contoso-packages",
      "pat-contoso-code",
      "app-downstream-secret",
      "refresh-token-pat-owner",
      "unrelated-db-password",
    ];
    values = await Promise.all(seeded.map(async (n) => (await stack.runtime.store.getSecret(n)).value));
  });
  after(() => stack.close());

  test("status=expiring lists the PAT inside the notice window, and only it", async () => {
    const page = await call(ops, "/inventory?status=expiring");
    const items = page["items"] as Item[];
    assert.deepEqual(
      items.map((i) => [i.name, i.status, i.rotation]),
      [["pat-contoso-packages", "expiring", "manual"]],
    );
  });

  test("the notice sweep warns about it, and GET /hook reads the notice back without a value", async () => {
    assert.deepEqual((await hook()).notices, []);
    const report = await call(admin, "/sweeps/notices", "POST");
    assert.deepEqual(report["notified"], [{ name: "pat-contoso-packages", threshold: 7 }]);
    const { text, notices } = await hook();
    assert.equal(notices.length, 1);
    const [notice] = notices as [Record<string, unknown>];
    assert.equal(notice["name"], "pat-contoso-packages");
    assert.equal(notice["reason"], "expiring");
    assert.equal(notice["type"], "token-broker.expiry-notice");
    assert.deepEqual(
      values.filter((v) => text.includes(v)),
      [],
    );
    const teams = await fetch(`${stack.webhookSink.url}/teams`);
    assert.equal(teams.status, 200);
    assert.equal(((await teams.json()) as unknown[]).length, 1);
  });

  test("the rotation sweep rotates the auto PAT: a new version, the old PAT pending revoke", async () => {
    const before = (await call(ops, "/inventory/pat-contoso-code")) as unknown as Item;
    assert.equal(before.rotation, "auto");
    assert.equal(before.status, "active");
    const oldValue = (await stack.runtime.store.getSecret("pat-contoso-code")).value;
    const oldId = (await stack.runtime.store.getSecret("pat-contoso-code")).tags["authorization-id"];

    const report = await call(admin, "/sweeps/rotation", "POST");
    assert.deepEqual(
      (report["rotated"] as { name: string }[]).map((r) => r.name),
      ["pat-contoso-code"],
    );
    assert.deepEqual(report["failed"], []);
    const now = (await call(ops, "/inventory/pat-contoso-code")) as unknown as Item;
    assert.notEqual(now.version, before.version);
    assert.equal(now.status, "pending-revoke");
    assert.ok(Date.parse(now.expiresOn) > Date.parse(before.expiresOn));
    const current = await stack.runtime.store.getSecret("pat-contoso-code");
    assert.notEqual(current.value, oldValue);
    assert.match(current.tags["pending-revoke"] ?? "", new RegExp(oldId ?? "none"));
    // Within the grace the old PAT still works upstream; the new one does too.
    const active = stack.devops.pats("contoso").filter((p) => p.status === "active");
    assert.ok(active.some((p) => p.authorizationId === oldId));
    assert.ok(active.some((p) => p.authorizationId === current.tags["authorization-id"]));
  });
});

describe("the webhook sink's read-back", () => {
  test("GET lists a path's posts, newest last, at most READ_BACK_LIMIT; other methods 405", async () => {
    const sink = await startWebhookSink();
    try {
      for (let i = 0; i < READ_BACK_LIMIT + 5; i++) {
        const res = await fetch(`${sink.url}/hook`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ n: i }),
        });
        assert.equal(res.status, 202);
      }
      const res = await fetch(`${sink.url}/hook`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      const bodies = (await res.json()) as { n: number }[];
      assert.equal(bodies.length, READ_BACK_LIMIT);
      assert.deepEqual(bodies[0], { n: 5 });
      assert.deepEqual(bodies.at(-1), { n: READ_BACK_LIMIT + 4 });
      assert.deepEqual(await (await fetch(`${sink.url}/teams`)).json(), []);
      // Reading back is no post: the sender-side record is unchanged.
      assert.equal(sink.received("/hook").length, READ_BACK_LIMIT + 5);
      const put = await fetch(`${sink.url}/hook`, { method: "PUT", body: "{}" });
      assert.equal(put.status, 405);
      assert.equal(put.headers.get("allow"), "GET, POST");
      await put.body?.cancel();
    } finally {
      await sink.close();
    }
  });
});
