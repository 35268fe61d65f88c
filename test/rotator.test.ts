import assert from "node:assert/strict";
import { test } from "node:test";
import { DAY_MS, lifetimeDaysOf } from "../src/rotation/rotator.js";

test("lifetime-days: a whole number of days from 1 to 366, else undefined", () => {
  assert.equal(lifetimeDaysOf({ "lifetime-days": "1" }), 1);
  assert.equal(lifetimeDaysOf({ "lifetime-days": "366" }), 366);
  for (const raw of [undefined, "", "0", "367", "1.5", "-3", "ten", "1e1x"]) {
    const tags: Record<string, string> = raw === undefined ? {} : { "lifetime-days": raw };
    assert.equal(lifetimeDaysOf(tags), undefined, String(raw));
  }
  assert.equal(DAY_MS, 86_400_000);
});
