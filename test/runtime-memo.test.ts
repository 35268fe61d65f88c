import assert from "node:assert/strict";
import { test } from "node:test";
import { memoKey, RuntimeMemo } from "../src/runtime-memo.js";

test("a slot is made once per runtime, at first use", () => {
  let made = 0;
  const key = memoKey("answers", () => ({ n: ++made }));
  const memo = new RuntimeMemo();
  assert.equal(made, 0);
  const first = memo.get(key);
  assert.equal(memo.get(key), first);
  assert.equal(made, 1);
});

test("two runtimes share nothing, and keys are told apart by identity, not name", () => {
  const key = memoKey("answers", () => new Map<string, number>());
  const a = new RuntimeMemo();
  const b = new RuntimeMemo();
  a.get(key).set("x", 1);
  assert.equal(b.get(key).size, 0);
  const sameName = memoKey("answers", () => new Map<string, number>());
  assert.notEqual(a.get(sameName), a.get(key));
});

test("keys are frozen", () => {
  assert.ok(Object.isFrozen(memoKey("k", () => 1)));
});
