import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { decodeProtectedHeader, errors, exportJWK } from "jose";
import type { IssuerTrust } from "../src/auth/issuers.js";
import {
  IssuerUnavailableError,
  JwksSource,
  keysMaxAge,
  type JwksSourceOptions,
} from "../src/auth/jwks-source.js";
import { newKey, startTestIssuer, type TestIssuer } from "./support/test-issuer.js";
import { startTrickleServer } from "./support/trickle-server.js";

async function keyFor(s: JwksSource, token: string) {
  const header = decodeProtectedHeader(token);
  return s.getKey(
    { alg: header.alg ?? "RS256", ...(header.kid !== undefined ? { kid: header.kid } : {}) },
    { payload: "", signature: "", protected: "" },
  );
}

const trusted = (issuer: string, keys: IssuerTrust["keys"]): IssuerTrust => ({
  issuer,
  kind: "trusted",
  audiences: ["a"],
  keys,
});

/** A one-document server: discovery at any path, counting hits. */
async function discoveryServer(doc: (origin: string) => object) {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits += 1;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(doc(origin)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const reason = (r: string) => (error: unknown) => {
  assert.ok(error instanceof IssuerUnavailableError, String(error));
  assert.equal(error.reason, r);
  return true;
};

describe("JwksSource", () => {
  let issuer: TestIssuer;
  before(async () => {
    issuer = await startTestIssuer();
  });
  after(() => issuer.close());

  const source = (cooldown: number, options: JwksSourceOptions = {}) =>
    new JwksSource(
      trusted(issuer.issuer, { discoveryUrl: `${issuer.issuer}/.well-known/openid-configuration` }),
      {
        refreshCooldownMs: cooldown,
        devStack: true,
        ...options,
      },
    );

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
      await assert.rejects(keyFor(s, await issuer.sign({}, { key: await newKey() })), reason("unreachable"));
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

  test("a published key carrying private parts is dropped, never trusted", async () => {
    const leaked = await newKey();
    const privateJwk = { ...(await exportJWK(leaked.privateKey)), kid: leaked.kid, alg: "RS256", use: "sig" };
    issuer.published = [issuer.key, { ...leaked, publicJwk: privateJwk }];
    try {
      const s = source(60_000);
      await keyFor(s, await issuer.sign({})); // the well-formed key of the same set serves
      await assert.rejects(keyFor(s, await issuer.sign({}, { key: leaked })), errors.JWKSNoMatchingKey);
    } finally {
      issuer.published = [issuer.key];
    }
  });

  test("a key the issuer removed stops being trusted after its max-age (an hour at most)", async () => {
    let clock = Date.now();
    const s = source(60_000, { now: () => clock });
    const old = await newKey();
    issuer.published = [issuer.key, old];
    try {
      const token = await issuer.sign({}, { key: old });
      await keyFor(s, token);
      issuer.published = [issuer.key];
      clock += 59 * 60_000;
      await keyFor(s, token); // still within the hour: cached
      clock += 2 * 60_000;
      await assert.rejects(keyFor(s, token), errors.JWKSNoMatchingKey);
      await keyFor(s, await issuer.sign({})); // the remaining key still serves
    } finally {
      issuer.published = [issuer.key];
    }
  });

  test("Cache-Control max-age is honoured within 5 minutes and an hour", async () => {
    let clock = Date.now();
    const s = source(1000, { now: () => clock });
    const old = await newKey();
    issuer.published = [issuer.key, old];
    issuer.jwksCacheControl = "public, max-age=600";
    try {
      const token = await issuer.sign({}, { key: old });
      await keyFor(s, token);
      issuer.published = [issuer.key];
      clock += 9 * 60_000;
      await keyFor(s, token);
      clock += 2 * 60_000;
      await assert.rejects(keyFor(s, token), errors.JWKSNoMatchingKey);
    } finally {
      issuer.published = [issuer.key];
      issuer.jwksCacheControl = undefined;
    }
    assert.equal(keysMaxAge("max-age=86400, private", 3600_000), 3600_000);
    assert.equal(keysMaxAge("max-age=10", 3600_000), 5 * 60_000);
    assert.equal(keysMaxAge("no-store", 3600_000), 5 * 60_000);
    assert.equal(keysMaxAge("max-age=900", 3600_000), 900_000);
    assert.equal(keysMaxAge(undefined, 3600_000), 3600_000);
  });

  test("a discovery jwks_uri on another origin is refused, never fetched", async () => {
    let keyHits = 0;
    const keys = http.createServer((_req, res) => {
      keyHits += 1;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: issuer.published.map((k) => k.publicJwk) }));
    });
    await new Promise<void>((resolve) => keys.listen(0, "127.0.0.1", resolve));
    const foreign = `http://127.0.0.1:${(keys.address() as AddressInfo).port}/jwks`;
    const disco = await discoveryServer((origin) => ({ issuer: origin, jwks_uri: foreign }));
    try {
      const s = new JwksSource(
        trusted(disco.origin, { discoveryUrl: `${disco.origin}/.well-known/openid-configuration` }),
        {
          devStack: true,
        },
      );
      await assert.rejects(keyFor(s, await issuer.sign({})), reason("jwks_uri_foreign_origin"));
      assert.equal(disco.hits(), 1, "the discovery document was fetched");
      assert.equal(keyHits, 0, "the foreign key set was not");

      // The same URL named by the trust itself is the operator's choice: accepted.
      const explicit = new JwksSource(trusted(disco.origin, { jwksUri: foreign }), { devStack: true });
      await keyFor(explicit, await issuer.sign({}));
      assert.equal(keyHits, 1);
    } finally {
      keys.close();
      await disco.close();
    }
  });

  test("a jwks_uri that is plain HTTP off loopback is refused, never fetched", async () => {
    const s = new JwksSource(
      trusted("https://issuer.example.com", { jwksUri: "http://keys.example.com/jwks" }),
      {
        devStack: true,
      },
    );
    await assert.rejects(keyFor(s, await issuer.sign({})), reason("jwks_uri_refused"));
  });

  test("outside the dev stack a loopback issuer is refused before any fetch", async () => {
    const before = issuer.jwksRequests;
    const s = source(0, { devStack: false });
    await assert.rejects(keyFor(s, await issuer.sign({})), reason("discovery_url_refused"));
    const explicit = new JwksSource(trusted(issuer.issuer, { jwksUri: `${issuer.issuer}/.well-known/jwks` }));
    await assert.rejects(keyFor(explicit, await issuer.sign({})), reason("jwks_uri_refused"));
    assert.equal(issuer.jwksRequests, before);
  });

  test("a discovery document naming another issuer is refused", async () => {
    const s = new JwksSource(
      trusted("https://elsewhere.example.com", {
        discoveryUrl: `${issuer.issuer}/.well-known/openid-configuration`,
      }),
      { devStack: true },
    );
    await assert.rejects(keyFor(s, await issuer.sign({})), reason("discovery_issuer_mismatch"));
  });

  for (const via of ["jwks", "discovery"] as const) {
    test(`a trickling issuer (${via}) answers every waiting caller within the deadline: one shared fetch`, async () => {
      const trickle = await startTrickleServer(40);
      try {
        const keys: IssuerTrust["keys"] =
          via === "jwks"
            ? { jwksUri: `${trickle.url}/keys` }
            : { discoveryUrl: `${trickle.url}/.well-known/openid-configuration` };
        const s = new JwksSource(trusted(trickle.url, keys), { devStack: true, fetchDeadlineMs: 300 });
        const token = await issuer.sign({});
        const started = Date.now();
        const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => keyFor(s, token)));
        const elapsed = Date.now() - started;
        for (const o of outcomes) {
          assert.equal(o.status, "rejected");
          reason("unreachable")(o.reason);
        }
        assert.equal(trickle.requests, 1, "the callers shared one fetch");
        // The body would take ~160 s at this pace; the deadline cut it (bound generous for a busy box).
        assert.ok(elapsed < 5000, `took ${elapsed} ms`);
      } finally {
        await trickle.close();
      }
    });
  }
});

test("discovery and JWKS ride on an injected sender, within the fetch deadline", async () => {
  const { generateKeyPair, SignJWT } = await import("jose");
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256" };
  const requests: { url: string; timeoutMs: number | undefined }[] = [];
  const s = new JwksSource(trusted("https://issuer.example", { jwksUri: "https://keys.example/jwks" }), {
    fetchDeadlineMs: 2000,
    send: (request) => {
      requests.push({ url: request.url, timeoutMs: request.timeoutMs });
      return Promise.resolve({ status: 200, headers: {}, body: JSON.stringify({ keys: [jwk] }) });
    },
  });
  const token = await new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k1" }).sign(privateKey);
  await keyFor(s, token);
  assert.equal(requests.length, 1);
  assert.deepEqual(
    requests.map((r) => r.url),
    ["https://keys.example/jwks"],
  );
  assert.ok(requests.every((r) => r.timeoutMs !== undefined && r.timeoutMs <= 2000));
});
