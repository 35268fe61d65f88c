import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonOrUndefined } from "../src/net/json-text.js";

test("JSON text becomes its value", () => {
  assert.deepEqual(jsonOrUndefined('{"a":[1,null]}'), { a: [1, null] });
  assert.equal(jsonOrUndefined("0"), 0);
  assert.equal(jsonOrUndefined("null"), null);
});

test("no text or text that is not JSON is undefined, never a throw", () => {
  for (const text of [undefined, null, "", "{", "<html>", "undefined"]) {
    assert.equal(jsonOrUndefined(text), undefined, String(text));
  }
});
