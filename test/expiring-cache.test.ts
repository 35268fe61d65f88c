import assert from "node:assert/strict";
import { test } from "node:test";
import { ExpiringCache } from "../src/issuance/expiring-cache.js";

test("ExpiringCache.set stores a value learnt elsewhere until its time, superseding a load in flight", async () => {
  let now = 0;
  const cache = new ExpiringCache<string, string>(() => now);
  let release: (v: { value: string; until: number }) => void = () => undefined;
  const loading = cache.getOrLoad("k", () => new Promise((resolve) => (release = resolve)));
  cache.set("k", "learnt", 100);
  release({ value: "stale", until: 100 });
  assert.equal(await loading, "stale");
  assert.equal(cache.peek("k"), "learnt");
  now = 100;
  assert.equal(cache.peek("k"), undefined);
  cache.set("k", "already-expired", 50);
  assert.equal(await cache.getOrLoad("k", () => Promise.resolve({ value: "loaded", until: 200 })), "loaded");
});

test("ExpiringCache bounded by maxEntries evicts the value stored longest ago and drops expired ones", async () => {
  let now = 0;
  const cache = new ExpiringCache<string, string>(() => now, 2);
  cache.set("a", "A", 100);
  cache.set("b", "B", 100);
  cache.set("a", "A2", 100); // stored again: now the newest
  assert.equal(await cache.getOrLoad("c", () => Promise.resolve({ value: "C", until: 100 })), "C");
  assert.equal(cache.size, 2);
  assert.equal(cache.peek("b"), undefined, "b was stored longest ago");
  assert.equal(cache.peek("a"), "A2");
  assert.equal(cache.peek("c"), "C");
  cache.set("short", "S", 10);
  assert.equal(cache.peek("a"), undefined, "a evicted by short");
  now = 10;
  assert.equal(cache.peek("short"), undefined);
  assert.equal(cache.size, 1, "the expired value was dropped on peek");
  assert.equal(cache.peek("c"), "C");
});
