import assert from "node:assert/strict";
import { test } from "node:test";
import {
  RETRY_AFTER_MAX_SECONDS,
  RETRY_AFTER_MIN_SECONDS,
  retryAfterSeconds,
} from "../src/net/upstream-status.js";

test("Retry-After as delta-seconds, rounded up and clamped to the one bound", () => {
  assert.equal(retryAfterSeconds("7"), 7);
  assert.equal(retryAfterSeconds(" 7 "), 7);
  assert.equal(retryAfterSeconds("1.2"), 2);
  assert.equal(retryAfterSeconds("0"), RETRY_AFTER_MIN_SECONDS);
  assert.equal(retryAfterSeconds("86400"), RETRY_AFTER_MAX_SECONDS);
});

test("Retry-After as an HTTP-date, relative to now and clamped", () => {
  const now = Date.parse("Wed, 02 Dec 2026 14:00:00 GMT");
  assert.equal(retryAfterSeconds("Wed, 02 Dec 2026 14:00:30 GMT", now), 30);
  assert.equal(retryAfterSeconds("Wed, 02 Dec 2026 13:00:00 GMT", now), RETRY_AFTER_MIN_SECONDS);
  assert.equal(retryAfterSeconds("Thu, 03 Dec 2026 14:00:00 GMT", now), RETRY_AFTER_MAX_SECONDS);
});

test("absent or unreadable Retry-After is undefined", () => {
  assert.equal(retryAfterSeconds(undefined), undefined);
  assert.equal(retryAfterSeconds(null), undefined);
  assert.equal(retryAfterSeconds(""), undefined);
  assert.equal(retryAfterSeconds("soon"), undefined);
  assert.equal(retryAfterSeconds("-5"), undefined);
});
