import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { brokerBaseUrl, DEFAULT_URL, tokenProvider } from "../src/cli/connection.js";
import { UsageError } from "../src/cli/errors.js";

describe("brokerBaseUrl", () => {
  test("the default URL is accepted as it is, with a trailing slash", () => {
    assert.equal(brokerBaseUrl(DEFAULT_URL).href, "http://127.0.0.1:7071/");
  });

  test("a path prefix is kept with a trailing slash; query and fragment are dropped", () => {
    const url = brokerBaseUrl("https://broker.example/prefix?code=abc#frag");
    assert.equal(url.href, "https://broker.example/prefix/");
    assert.equal(new URL("api/token", url).href, "https://broker.example/prefix/api/token");
  });

  test("the banner's …/api form is the broker's base; another prefix before it is kept", () => {
    assert.equal(brokerBaseUrl("http://127.0.0.1:7071/api").href, "http://127.0.0.1:7071/");
    assert.equal(brokerBaseUrl("http://127.0.0.1:7071/api/").href, "http://127.0.0.1:7071/");
    const proxied = brokerBaseUrl("https://proxy.example/broker/api");
    assert.equal(proxied.href, "https://proxy.example/broker/");
    assert.equal(new URL("api/inventory", proxied).href, "https://proxy.example/broker/api/inventory");
    // Only a last segment of exactly "api": a prefix that merely ends in it stays.
    assert.equal(brokerBaseUrl("https://proxy.example/myapi").href, "https://proxy.example/myapi/");
  });

  test("plain http only on loopback", () => {
    for (const raw of ["http://localhost:7071", "http://[::1]:7071", "http://127.0.0.1"]) {
      assert.equal(brokerBaseUrl(raw).protocol, "http:", raw);
    }
    assert.throws(() => brokerBaseUrl("http://broker.example"), /refusing plain http to broker\.example/);
  });

  test("other schemes and non-URLs are refused", () => {
    assert.throws(() => brokerBaseUrl("ftp://broker.example"), /must be https:\/\/ \(got ftp:\)/);
    assert.throws(() => brokerBaseUrl("broker.example"), UsageError);
  });

  test("a user part is refused and not echoed", () => {
    assert.throws(
      () => brokerBaseUrl("https://svc:s3cret@broker.example"),
      (e: unknown) => e instanceof UsageError && !e.message.includes("s3cret"),
    );
  });
});

describe("tokenProvider", () => {
  test("TOKEN_BROKER_TOKEN is used as it is, a pasted Bearer prefix and whitespace removed", async () => {
    assert.equal(await tokenProvider({ TOKEN_BROKER_TOKEN: " eyJ.a.b\n" }, "s")(), "eyJ.a.b");
    assert.equal(await tokenProvider({ TOKEN_BROKER_TOKEN: "bearer   eyJ.a.b" }, "s")(), "eyJ.a.b");
  });
});
