import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hasDuplicateKeys } from "../src/net/json-text.js";
import { VerifiedTokenCache } from "../src/auth/verified-token-cache.js";
import { isPatFormat, patAuthorization } from "../src/devops/pat-format.js";
import { ExpiringCache } from "../src/issuance/expiring-cache.js";
import { randomPat } from "../src/local/sample-data.js";
import { redact } from "../src/log.js";
import { isAllowedFetchUrl } from "../src/net/loopback.js";

describe("PAT formats", () => {
  test("both formats, and nothing close to them", () => {
    assert.equal(isPatFormat(randomPat()), true);
    assert.equal(isPatFormat("dip55dwf4vpitomw63jzvomefmi2jluguprzwwqwuc6xq4fhocwq"), true);
    assert.equal(isPatFormat(randomPat().replace("AZDO", "AZDX")), false);
    assert.equal(isPatFormat(randomPat() + "a"), false);
    assert.equal(isPatFormat("dip55dwf4vpitomw63jzvomefmi2jluguprzwwqwuc6xq4fhocw1"), false);
    assert.equal(isPatFormat(""), false);
    assert.equal(patAuthorization("abc"), `Basic ${Buffer.from(":abc").toString("base64")}`);
  });
});

describe("log redaction", () => {
  test("scrubs JWTs, PATs and credentials in headers wherever they appear", () => {
    const pat = randomPat();
    const legacy = "dip55dwf4vpitomw63jzvomefmi2jluguprzwwqwuc6xq4fhocwq";
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    const line = redact(JSON.stringify({ a: `x ${pat} y`, b: legacy, c: jwt, d: "Basic OmFiY2RlZmdoaWpr" }));
    for (const secret of [pat, legacy, jwt, "OmFiY2RlZmdoaWpr"]) assert.ok(!line.includes(secret), line);
    assert.equal(
      redact('{"event":"audit.token","profile":"ado-read"}'),
      '{"event":"audit.token","profile":"ado-read"}',
    );
  });
});

describe("caches", () => {
  test("the verified-token cache never serves past expiry and stays bounded", () => {
    let now = 1_000_000;
    const cache = new VerifiedTokenCache<string>(3, 60_000, () => now);
    cache.set("a", "A", now + 10_000);
    assert.equal(cache.get("a"), "A");
    now += 10_000;
    assert.equal(cache.get("a"), undefined);
    cache.set("b", "B", now + 3_600_000);
    now += 60_000;
    assert.equal(cache.get("b"), undefined, "max age caps a long-lived token");
    for (const k of ["1", "2", "3", "4"]) cache.set(k, k, now + 1000);
    assert.equal(cache.size, 3);
    assert.equal(cache.get("1"), undefined);
    cache.set("past", "P", now - 1);
    assert.equal(cache.get("past"), undefined);
  });

  test("ExpiringCache shares one load between concurrent misses and does not cache failures", async () => {
    let now = 0;
    const cache = new ExpiringCache<string, number>(() => now);
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((r) => setTimeout(r, 10));
      return { value: loads, until: now + 100 };
    };
    const values = await Promise.all([
      cache.getOrLoad("k", load),
      cache.getOrLoad("k", load),
      cache.getOrLoad("k", load),
    ]);
    assert.deepEqual(values, [1, 1, 1]);
    assert.equal(await cache.getOrLoad("k", load), 1);
    now = 100;
    assert.equal(await cache.getOrLoad("k", load), 2);
    await assert.rejects(cache.getOrLoad("f", () => Promise.reject(new Error("boom"))));
    assert.equal(await cache.getOrLoad("f", load), 3);
  });

  test("ExpiringCache: a value evicted while its load is in flight is not stored afterwards", async () => {
    const cache = new ExpiringCache<string, string>(() => 0);
    let release: (v: { value: string; until: number }) => void = () => undefined;
    const stale = cache.getOrLoad("k", () => new Promise((resolve) => (release = resolve)));
    cache.delete("k"); // the secret was written while the old value was being read
    release({ value: "old", until: 100 });
    assert.equal(await stale, "old", "the caller that started before the write gets what it read");
    assert.equal(cache.peek("k"), undefined, "but it is not kept");
    assert.equal(await cache.getOrLoad("k", () => Promise.resolve({ value: "new", until: 100 })), "new");
    cache.deleteWhere((v) => v === "new");
    assert.equal(cache.peek("k"), undefined);
  });
});

describe("fetch URL rule", () => {
  test("Azure: https to a non-loopback host only, no credentials in URLs", () => {
    assert.equal(isAllowedFetchUrl("https://login.microsoftonline.com/x"), true);
    for (const refused of [
      "http://127.0.0.1:8080/keys",
      "http://localhost/keys",
      "http://[::1]:9/keys",
      "https://127.0.0.1:8443/keys",
      "https://localhost/keys",
      "https://[::1]/keys",
      "https://keys.localhost/jwks",
      "http://10.0.0.1/keys",
      "http://issuer.example.com/keys",
      "https://user:pw@issuer.example.com/",
      "file:///etc/passwd",
    ]) {
      assert.equal(isAllowedFetchUrl(refused), false, refused);
      assert.equal(isAllowedFetchUrl(refused, false), false, refused);
    }
  });

  test("dev stack: also plain http to loopback, still never elsewhere", () => {
    assert.equal(isAllowedFetchUrl("https://login.microsoftonline.com/x", true), true);
    assert.equal(isAllowedFetchUrl("http://127.0.0.1:8080/keys", true), true);
    assert.equal(isAllowedFetchUrl("http://localhost/keys", true), true);
    assert.equal(isAllowedFetchUrl("http://[::1]:9/keys", true), true);
    assert.equal(isAllowedFetchUrl("https://127.0.0.1:8443/keys", true), true);
    assert.equal(isAllowedFetchUrl("http://10.0.0.1/keys", true), false);
    assert.equal(isAllowedFetchUrl("http://127.0.0.1.evil.com/keys", true), false);
    assert.equal(isAllowedFetchUrl("https://user:pw@issuer.example.com/", true), false);
    assert.equal(isAllowedFetchUrl("file:///etc/passwd", true), false);
  });
});

describe("JSON bodies", () => {
  test("a key repeated within one object is found, however it is spelled", () => {
    assert.equal(hasDuplicateKeys('{"profile":"a","profile":"b"}'), true);
    assert.equal(hasDuplicateKeys('{"profile":"a","\\u0070rofile":"b"}'), true);
    assert.equal(hasDuplicateKeys('{"a":{"b":1,"b":2}}'), true);
    assert.equal(hasDuplicateKeys('{"a":{"b":1},"c":{"b":2}}'), false);
    assert.equal(hasDuplicateKeys('{"a":["b","b"],"k":"a\\"b","b":1}'), false);
    assert.equal(hasDuplicateKeys('[{"a":1},{"a":1}]'), false);
    assert.equal(hasDuplicateKeys('{"a":"{\\"a\\":1}","b":2}'), false);
  });
});
