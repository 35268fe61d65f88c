import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { decodeProtectedHeader, errors } from "jose";
import { IssuerUnavailableError, JwksSource } from "../src/auth/jwks-source.js";
import { newKey, startTestIssuer, type TestIssuer } from "./support/test-issuer.js";

describe("JwksSource", () => {
  let issuer: TestIssuer;
  before(async () => {
    issuer = await startTestIssuer();
  });
  after(() => issuer.close());

  const source = (cooldown: number) =>
    new JwksSource(
      {
        issuer: issuer.issuer,
        kind: "trusted",
        audiences: ["a"],
        keys: { discoveryUrl: `${issuer.issuer}/.well-known/openid-configuration` },
      },
      { refreshCooldownMs: cooldown },
    );

  async function keyFor(s: JwksSource, token: string) {
    const header = decodeProtectedHeader(token);
    return s.getKey(
      { alg: header.alg ?? "RS256", ...(header.kid !== undefined ? { kid: header.kid } : {}) },
      {
        payload: "",
        signature: "",
        protected: "",
      },
    );
  }

  test("picks up a rotated key on an unknown kid", async () => {
    const s = source(0);
    await keyFor(s, await issuer.sign({}));
    const next = await newKey();
    issuer.published = [issuer.key, next];
    await keyFor(s, await issuer.sign({}, { key: next }));
    issuer.published = [issuer.key];
  });

  test("an unknown kid while the issuer is down is IssuerUnavailable, not a pass or a 401", async () => {
    const s = source(0);
    await keyFor(s, await issuer.sign({}));
    issuer.up = false;
    try {
      await assert.rejects(keyFor(s, await issuer.sign({}, { key: await newKey() })), IssuerUnavailableError);
      // Known keys still resolve.
      await keyFor(s, await issuer.sign({}));
    } finally {
      issuer.up = true;
    }
  });

  test("within the cooldown an unknown kid is refused without a fetch", async () => {
    const s = source(60_000);
    await keyFor(s, await issuer.sign({}));
    const before = issuer.jwksRequests;
    await assert.rejects(keyFor(s, await issuer.sign({}, { key: await newKey() })), errors.JWKSNoMatchingKey);
    assert.equal(issuer.jwksRequests, before);
  });

  test("a jwks_uri that is plain HTTP off loopback is refused, never fetched", async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits += 1;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ issuer: origin, jwks_uri: "http://keys.example.com/jwks" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const s = new JwksSource({
        issuer: origin,
        kind: "trusted",
        audiences: ["a"],
        keys: { discoveryUrl: `${origin}/.well-known/openid-configuration` },
      });
      await assert.rejects(keyFor(s, await issuer.sign({})), IssuerUnavailableError);
      assert.equal(hits, 1, "only the discovery document was fetched");
    } finally {
      server.close();
    }
  });

  test("a discovery document naming another issuer is refused", async () => {
    const s = new JwksSource({
      issuer: "https://elsewhere.example.com",
      kind: "trusted",
      audiences: ["a"],
      keys: { discoveryUrl: `${issuer.issuer}/.well-known/openid-configuration` },
    });
    await assert.rejects(keyFor(s, await issuer.sign({})), IssuerUnavailableError);
  });
});
