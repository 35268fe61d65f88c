import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fieldName, unknownFieldsMessage, UNNAMED_FIELD } from "../src/http/field-name.js";
import { randomPat } from "../src/local/sample-data.js";
import { callerToken, logsContain, startTestStack, type TestStack } from "./support/dev-stack.js";

/** A legacy PAT: 52 lowercase base32 characters (it fits profile and secret-name shapes). */
const legacyPat = () =>
  Array.from({ length: 52 }, () =>
    "abcdefghijklmnopqrstuvwxyz234567".charAt(Math.floor(Math.random() * 32)),
  ).join("");

describe("field names in errors (src/http/field-name.ts)", () => {
  test("field-shaped keys are named, anything else is not", () => {
    for (const key of ["owner", "expiringWithinDays", "grant_type", "colour"])
      assert.equal(fieldName(key), key);
    for (const key of [
      randomPat(),
      legacyPat(),
      "abc8Q~" + "x".repeat(34),
      "a".repeat(33),
      "x1",
      "",
      "a b",
    ]) {
      assert.equal(fieldName(key), UNNAMED_FIELD, key);
    }
    assert.equal(fieldName(3), "3");
    assert.equal(
      unknownFieldsMessage(["colour", randomPat(), legacyPat()]),
      "unknown field(s): colour, 2 not shaped like a field name (not repeated here)",
    );
  });
});

/** A PAT pasted where a field name goes never comes back: not in the answer, a log or an audit line. */
describe("a credential sent as a key is not echoed", () => {
  let stack: TestStack;
  let caller: string;
  let admin: string;
  let ops: string;
  const canaries: string[] = [];
  const texts: string[] = [];
  const canary = (value = randomPat()) => (canaries.push(value), value);

  async function send(
    path: string,
    init: RequestInit,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await stack.api(path, init);
    const text = await res.text();
    texts.push(text);
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  }
  const json = (token: string, body: string, method = "POST") => ({
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body,
  });
  const form = (body: string) => ({
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });

  before(async () => {
    stack = await startTestStack();
    [caller, admin, ops] = await Promise.all([
      callerToken(stack),
      callerToken(stack, "dev-admin"),
      callerToken(stack, "dev-ops"),
    ]);
  });
  after(() => stack.close());

  test("JSON bodies: a PAT as a key, as the whole body, in an array", async () => {
    for (const body of [
      JSON.stringify({ [canary()]: 1 }),
      JSON.stringify({ profile: "nuget-feed", [canary(legacyPat())]: 1 }),
      JSON.stringify(canary()),
      JSON.stringify([canary()]),
      JSON.stringify({ profile: { [canary()]: 1 } }),
    ]) {
      const res = await send("/token", json(caller, body));
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body["code"], "invalid_request");
    }
    const imported = await send(
      "/inventory/pat-echo",
      json(admin, JSON.stringify({ kind: "pat", [canary()]: 1 }), "PUT"),
    );
    assert.equal(imported.status, 400);
    assert.deepEqual(imported.body["errors"], [
      { field: "(body)", message: "unknown field(s): one not shaped like a field name (not repeated here)" },
    ]);
    // A field-shaped unknown key is still named, so a typo can be found.
    const typo = await send(
      "/inventory/pat-echo",
      json(admin, JSON.stringify({ kind: "pat", ownr: "x" }), "PUT"),
    );
    assert.deepEqual(typo.body["errors"], [{ field: "(body)", message: "unknown field(s): ownr" }]);
  });

  test("form bodies: a PAT as a field name, once or repeated", async () => {
    const exchange = `grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=${caller}&subject_token_type=urn:ietf:params:oauth:token-type:jwt&audience=nuget-feed`;
    const pat = canary();
    for (const body of [`${exchange}&${pat}=1`, `${exchange}&${pat}=1&${pat}=2`, canary()]) {
      const res = await send("/token", form(body));
      assert.equal(res.status, 400, JSON.stringify(res.body));
    }
  });

  test("queries: a PAT as a parameter name, once or repeated", async () => {
    const headers = { authorization: `Bearer ${ops}` };
    const pat = canary();
    for (const query of [`?${pat}=1`, `?${pat}=1&${pat}=2`, `?top=5&${canary(legacyPat())}`]) {
      const res = await send(`/inventory${query}`, { headers });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal((res.body["errors"] as { field: string }[])[0]?.field.startsWith("("), true);
    }
  });

  test("names: a PAT as the credential name or the profile stays out of the audit line", async () => {
    const named = await send(`/inventory/${canary()}`, { headers: { authorization: `Bearer ${ops}` } });
    assert.equal(named.status, 404);
    const profile = await send("/token", json(caller, JSON.stringify({ profile: canary(legacyPat()) })));
    assert.equal(profile.status, 403);
  });

  test("no canary in any answer, log or audit line", () => {
    assert.ok(canaries.length >= 12);
    assert.deepEqual(
      canaries.filter((c) => texts.some((t) => t.includes(c))),
      [],
    );
    assert.deepEqual(logsContain(stack.logs, canaries), []);
    assert.ok(stack.logs.some((l) => l.includes('"event":"audit.token"')));
    assert.ok(stack.logs.some((l) => l.includes('"event":"audit.inventory"')));
  });
});
