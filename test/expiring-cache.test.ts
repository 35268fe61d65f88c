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
