import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import {
  mediaTypeOf,
  memoisedJsonBody,
  parseFormBody,
  parseJsonBody,
  parseJsonText,
} from "../src/http/request-body.js";
import type { BrokerRequest } from "../src/http/types.js";

function request(body: string | Uint8Array | null, contentType?: string): BrokerRequest {
  return {
    method: "POST",
    path: "/x",
    query: new URLSearchParams(),
    headers: contentType !== undefined ? { "content-type": contentType } : {},
    params: {},
    body: typeof body === "string" ? new TextEncoder().encode(body) : body,
  };
}

/** The problem a parse throws: its status, code and the fields it names. */
function problemOf(fn: () => unknown): { status: number; code: string; detail: string; fields: string[] } {
  try {
    fn();
  } catch (error) {
    const e = error as {
      status: number;
      code: string;
      detail: string;
      toBody: () => { errors?: { field: string }[] };
    };
    return {
      status: e.status,
      code: e.code,
      detail: e.detail,
      fields: (e.toBody().errors ?? []).map((x) => x.field),
    };
  }
  return assert.fail("expected a problem");
}

const schema = z.strictObject({ profile: z.string().min(1), scope: z.string().optional() });
const BOTH = ["application/json", "application/x-www-form-urlencoded"] as const;

describe("request bodies", () => {
  test("media types: exact, with parameters and case, utf-8 only, else 415 naming what is accepted", () => {
    assert.equal(mediaTypeOf(request("", "application/json"), BOTH), "application/json");
    assert.equal(mediaTypeOf(request("", 'Application/JSON; charset="UTF-8"'), BOTH), "application/json");
    assert.equal(
      mediaTypeOf(request("", "application/x-www-form-urlencoded"), BOTH),
      "application/x-www-form-urlencoded",
    );
    for (const bad of [undefined, "text/plain", "application/json; charset=latin1", "application/jsonx"]) {
      const p = problemOf(() => mediaTypeOf(request("", bad), ["application/json"]));
      assert.equal(p.status, 415, String(bad));
      assert.equal(p.code, "unsupported_media_type");
    }
    // Accepted by another route is not accepted here.
    assert.equal(
      problemOf(() => mediaTypeOf(request("", "application/x-www-form-urlencoded"), ["application/json"]))
        .status,
      415,
    );
  });

  test("JSON: valid per schema, else 400 naming the fields and never echoing values", () => {
    assert.deepEqual(parseJsonBody(request('{"profile":"feed"}'), schema), { profile: "feed" });
    const canary = "canary-Zq81y-secret";
    const wrong = problemOf(() =>
      parseJsonBody(request(JSON.stringify({ profile: 7, extra: canary })), schema),
    );
    assert.equal(wrong.status, 400);
    assert.equal(wrong.code, "invalid_request");
    assert.deepEqual(wrong.fields.sort(), ["(body)", "profile"]);
    assert.ok(!JSON.stringify(wrong).includes(canary));
    assert.match(problemOf(() => parseJsonBody(request("{not json"), schema)).detail, /not valid JSON/);
    assert.match(
      problemOf(() => parseJsonText('{"profile":"a","profile":"b"}', schema)).detail,
      /repeats a key/,
      "a repeated key is refused, not last-wins",
    );
  });

  test("bodies over the limit are 413, bad UTF-8 is 400", () => {
    assert.equal(problemOf(() => parseJsonBody(request(null), schema)).status, 413);
    const p = problemOf(() => parseJsonBody(request(new Uint8Array([0x7b, 0xff, 0x7d])), schema));
    assert.equal(p.status, 400);
    assert.match(p.detail, /UTF-8/);
  });

  test("forms: every field once; a repeated field is refused by name", () => {
    assert.deepEqual(parseFormBody(request("profile=feed&scope=a%20b"), schema), {
      profile: "feed",
      scope: "a b",
    });
    const repeated = problemOf(() => parseFormBody(request("profile=a&profile=b"), schema));
    assert.equal(repeated.status, 400);
    assert.deepEqual(repeated.fields, ["profile"]);
    assert.deepEqual(problemOf(() => parseFormBody(request("scope=x"), schema)).fields, ["profile"]);
  });

  test("memoised JSON: the same text gives the same frozen value; failures and long texts are not kept", () => {
    const parse = memoisedJsonBody(schema, 2, 40);
    const a = parse(request('{"profile":"feed"}'));
    assert.equal(parse(request('{"profile":"feed"}')), a, "reused");
    assert.ok(Object.isFrozen(a));
    assert.equal(problemOf(() => parse(request('{"profile":""}'))).status, 400);
    assert.equal(problemOf(() => parse(request('{"profile":""}'))).status, 400, "a failure is not cached");
    const long = JSON.stringify({ profile: "x".repeat(60) });
    assert.notEqual(parse(request(long)), parse(request(long)), "a long text is parsed each time");
    // Bounded: past maxEntries the table starts over.
    parse(request('{"profile":"b"}'));
    parse(request('{"profile":"c"}'));
    assert.notEqual(parse(request('{"profile":"feed"}')), a);
  });
});
