import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AuthError } from "../src/auth/auth-error.js";
import { audited } from "../src/http/audited.js";
import { json } from "../src/http/route.js";
import { brokerRequest, unitRuntime } from "./support/unit-runtime.js";

describe("audited", () => {
  test("a call refused before the role check is audited as rejected, and the handler never runs", async () => {
    const { rt, lines } = unitRuntime();
    let ran = false;
    const handler = audited("audit.inventory", "inventory.get", "Inventory.Read", () => {
      ran = true;
      return Promise.resolve(json(200, {}));
    });
    await assert.rejects(handler(brokerRequest({ params: { name: "pat-feed" } }), rt), (e: unknown) => {
      // The audit wrapper hands on the problem the hosts render.
      return !(e instanceof AuthError) && (e as { status?: number }).status === 401;
    });
    assert.equal(ran, false);
    const line = lines.find((l) => l["event"] === "audit.inventory");
    assert.ok(line !== undefined, JSON.stringify(lines));
    assert.equal(line["action"], "inventory.get");
    assert.equal(line["outcome"], "rejected");
    assert.equal(line["status"], 401);
    assert.equal(line["name"], "pat-feed");
    assert.equal(line["caller"], undefined);
  });

  test("only a name of the secret-name shape reaches the audit trail", async () => {
    const { rt, lines } = unitRuntime();
    const handler = audited("audit.admin", "inventory.delete", "Secrets.Admin", () =>
      Promise.resolve(json(204, {})),
    );
    await assert.rejects(handler(brokerRequest({ params: { name: "bad name\n{}" } }), rt));
    const line = lines.find((l) => l["event"] === "audit.admin");
    assert.ok(line !== undefined);
    assert.equal(line["name"], undefined);
  });
});
