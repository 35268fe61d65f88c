import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import { parseQuery } from "../src/http/query.js";
import type { BrokerRequest } from "../src/http/types.js";

function request(rawQuery: string): BrokerRequest {
  return {
    method: "GET",
    path: "/inventory",
    query: new URLSearchParams(rawQuery),
    rawQuery,
    headers: {},
    params: {},
    body: new Uint8Array(),
  };
}

function problemOf(fn: () => unknown): { status: number; detail: string; fields: string[] } {
  try {
    fn();
  } catch (error) {
    const e = error as { status: number; detail: string; toBody: () => { errors?: { field: string }[] } };
    return { status: e.status, detail: e.detail, fields: (e.toBody().errors ?? []).map((x) => x.field) };
  }
  return assert.fail("expected a problem");
}

const schema = z.strictObject({
  top: z.coerce.number().int().min(1).max(100).optional(),
  owner: z.string().optional(),
});

describe("query parameters", () => {
  test("each parameter once, decoded, per the schema", () => {
    assert.deepEqual(parseQuery(request(""), schema), {});
    assert.deepEqual(parseQuery(request("top=10&owner=team%40contoso.com"), schema), {
      top: 10,
      owner: "team@contoso.com",
    });
    assert.deepEqual(parseQuery(request("owner=a+b"), schema), { owner: "a b" });
  });

  test("repeated, unknown and out-of-range parameters are 400 naming them", () => {
    assert.deepEqual(problemOf(() => parseQuery(request("top=1&top=2"), schema)).fields, ["top"]);
    const unknown = problemOf(() => parseQuery(request("recover=1"), schema));
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.fields, ["(query)"]);
    assert.deepEqual(problemOf(() => parseQuery(request("top=1000"), schema)).fields, ["top"]);
  });

  test("malformed percent-encoding is refused, not read leniently", () => {
    for (const raw of ["owner=%E0%A4%A", "owner=%zz", "%=x"]) {
      const p = problemOf(() => parseQuery(request(raw), schema));
      assert.equal(p.status, 400, raw);
      assert.match(p.detail, /percent-encoding/);
    }
  });
});
