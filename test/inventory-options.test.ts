import assert from "node:assert/strict";
import { test } from "node:test";
import { DAY_MS, statusRules } from "../src/inventory/inventory-options.js";

test("status rules: the clock read once, and the largest notice threshold as the expiring window", () => {
  let reads = 0;
  const rules = statusRules({ now: () => ++reads * 1000, noticeDays: [1, 30, 7] });
  assert.deepEqual(rules, { now: 1000, noticeDays: 30 });
  assert.equal(reads, 1);
  assert.equal(DAY_MS, 86_400_000);
});
