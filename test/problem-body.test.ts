import assert from "node:assert/strict";
import { test } from "node:test";
import { problemBodyWire } from "../src/wire/problem-body.js";

test("a problem body needs status, detail and code; more fields are kept", () => {
  const problem = { status: 404, code: "not_found", detail: "No such credential." };
  assert.equal(problemBodyWire.safeParse(problem).success, true);
  assert.equal(problemBodyWire.parse({ ...problem, extra: 1 })["extra"], 1);
  assert.equal(problemBodyWire.safeParse({ ...problem, status: "404" }).success, false);
  for (const key of ["status", "detail", "code"]) {
    const copy: Record<string, unknown> = { ...problem };
    Reflect.deleteProperty(copy, key);
    assert.equal(problemBodyWire.safeParse(copy).success, false, key);
  }
});

test("a 400's errors name fields and rules", () => {
  const problem = { status: 400, code: "invalid_request", detail: "Invalid." };
  assert.equal(
    problemBodyWire.safeParse({ ...problem, errors: [{ field: "owner", message: "bad" }] }).success,
    true,
  );
  assert.equal(problemBodyWire.safeParse({ ...problem, errors: [{ field: "owner" }] }).success, false);
});
