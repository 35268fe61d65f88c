import assert from "node:assert/strict";
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
