import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createHmac, createPublicKey } from "node:crypto";
import { base64url, type JWTPayload } from "jose";
import { DEV_TENANT_ID } from "../src/local/dev-identities.js";
import { devClient, logsContain, startTestStack, writePolicy, type TestStack } from "./support/dev-stack.js";
import { newKey, startTestIssuer, type TestIssuer } from "./support/test-issuer.js";

const AUD = "api://token-broker-ci";
const ADO = "499b84ac-1321-427f-aa17-267ca6975798";

function encode(part: object): string {
  return base64url.encode(JSON.stringify(part));
}

describe("caller authentication against a trusted issuer of the test's own", () => {
  let stack: TestStack;
  let issuer: TestIssuer;
  const tried: string[] = [];

  before(async () => {
    issuer = await startTestIssuer();
    const policy = writePolicy({
      profiles: {
        "ci-ado": { kind: "entra", scope: `${ADO}/.default`, credential: { type: "managed-identity" } },
      },
      grants: [
        {
          match: { iss: issuer.issuer, sub: { pattern: "repo:contoso/app:ref:refs/heads/.+" } },
          profiles: ["ci-ado"],
        },
      ],
    });
    stack = await startTestStack({
      BROKER_POLICY_FILE: policy,
      BROKER_TRUSTED_ISSUERS: JSON.stringify([{ issuer: issuer.issuer, audiences: [AUD] }]),
    });
  });

  after(async () => {
    await stack.close();
    await issuer.close();
  });

  async function expectRejected(token: string, status = 401, code = "invalid_token"): Promise<Response> {
    tried.push(token);
    const res = await stack.token(token, { profile: "ci-ado" });
    assert.equal(res.status, status, `token ${token.slice(0, 40)}…`);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    const body = (await res.clone().json()) as { code: string; status: number };
    assert.equal(body.code, code);
    assert.equal(body.status, status);
    if (status === 401)
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="token-broker"/);
    return res;
  }

  test("a good token from the trusted issuer is granted its profile", async () => {
    const token = await issuer.sign(issuer.claims(AUD));
    tried.push(token);
    const res = await stack.token(token, { profile: "ci-ado" });
    assert.equal(res.status, 200);
  });

  test("no header, other schemes and garbage are 401 with a Bearer challenge", async () => {
    const none = await stack.token(undefined, { profile: "ci-ado" });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="token-broker"');
    assert.equal(((await none.json()) as { code: string }).code, "missing_token");
    for (const header of ["Basic dXNlcjpwYXNz", "Negotiate abc", "Bearer", "Bearer a b", "bearer"]) {
      const res = await stack.token(undefined, { profile: "ci-ado" }, { authorization: header });
      assert.equal(res.status, 401, header);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
    }
    await expectRejected("garbage");
    await expectRejected("a.b.c");
    await expectRejected(`${encode({ alg: "RS256" })}.${encode({ iss: issuer.issuer })}.!!!`);
  });

  test("alg none and HS256 signed with the public key are refused", async () => {
    const claims = issuer.claims(AUD);
    await expectRejected(`${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.`);
    await expectRejected(`${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.c2ln`);
    // Key confusion: the RSA public key (PEM and JWK) used as an HMAC secret.
    const pem = createPublicKey({ key: issuer.key.publicJwk, format: "jwk" }).export({
      type: "spki",
      format: "pem",
    });
    for (const secret of [pem, JSON.stringify(issuer.key.publicJwk)]) {
      const head = `${encode({ alg: "HS256", typ: "JWT", kid: issuer.key.kid })}.${encode(claims)}`;
      const mac = createHmac("sha256", secret).update(head).digest("base64url");
      await expectRejected(`${head}.${mac}`);
    }
  });

  test("time claims: expired, not yet valid, non-numeric, and a lifetime too long", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(await issuer.sign(issuer.claims(AUD, { exp: now - 120 })));
    await expectRejected(await issuer.sign(issuer.claims(AUD, { nbf: now + 300, exp: now + 600 })));
    await expectRejected(
      await issuer.sign(issuer.claims(AUD, { exp: String(now + 300) } as unknown as JWTPayload)),
    );
    await expectRejected(await issuer.sign(issuer.claims(AUD, { exp: undefined })));
    await expectRejected(await issuer.sign(issuer.claims(AUD, { iat: now, exp: now + 30 * 24 * 3600 })));
    // Within the 60 s skew both ways: accepted.
    const skewed = await issuer.sign(issuer.claims(AUD, { nbf: now + 30, exp: now + 600 }));
    tried.push(skewed);
    assert.equal((await stack.token(skewed, { profile: "ci-ado" })).status, 200);
    const justExpired = await issuer.sign(issuer.claims(AUD, { exp: now - 20 }));
    tried.push(justExpired);
    assert.equal((await stack.token(justExpired, { profile: "ci-ado" })).status, 200);
  });

  test("wrong audience, unknown issuer, tampered payload", async () => {
    await expectRejected(await issuer.sign(issuer.claims("api://someone-else")));
    await expectRejected(await issuer.sign(issuer.claims(AUD, { iss: "https://evil.example.com" })));
    await expectRejected(await issuer.sign(issuer.claims(AUD, { iss: `${issuer.issuer}/` })));
    const good = await issuer.sign(issuer.claims(AUD));
    const [h, , s] = good.split(".");
    const tampered = `${h ?? ""}.${encode(issuer.claims(AUD, { sub: "repo:contoso/app:ref:refs/heads/evil" }))}.${s ?? ""}`;
    await expectRejected(tampered);
  });

  test("another key with our kid, embedded jwk, jku and x5u headers", async () => {
    const attacker = await newKey("RS256", issuer.key.kid);
    await expectRejected(await issuer.sign(issuer.claims(AUD), { key: attacker }));
    await expectRejected(
      await issuer.sign(issuer.claims(AUD), { key: attacker, header: { jwk: attacker.publicJwk } }),
    );
    await expectRejected(
      await issuer.sign(issuer.claims(AUD), {
        key: attacker,
        header: { jku: `${issuer.issuer}/.well-known/jwks` },
      }),
    );
    await expectRejected(
      await issuer.sign(issuer.claims(AUD), {
        key: attacker,
        header: { x5u: "https://evil.example.com/cert.pem" },
      }),
    );
  });

  test("an unknown crit header is refused", async () => {
    // jose will not sign this, so the test signs the JWS itself.
    const kid = issuer.key.kid;
    await expectRejected(
      await issuer.signRaw({ alg: "RS256", kid, crit: ["exp-custom"], "exp-custom": 1 }, issuer.claims(AUD)),
    );
    // A crit naming a header that is absent is malformed as well.
    await expectRejected(await issuer.signRaw({ alg: "RS256", kid, crit: ["b64"] }, issuer.claims(AUD)));
    // Control: the same hand-made signing without crit is accepted, so the refusals above are about crit.
    const plain = await issuer.signRaw({ alg: "RS256", kid }, issuer.claims(AUD));
    tried.push(plain);
    assert.equal((await stack.token(plain, { profile: "ci-ado" })).status, 200);
  });

  test("unknown kids are 401 and cannot make the broker hammer the issuer", async () => {
    // The refetch itself is covered in jwks-source.test.ts; here: at most one per cooldown.
    const before = issuer.jwksRequests;
    for (let i = 0; i < 5; i++)
      await expectRejected(await issuer.sign(issuer.claims(AUD), { key: await newKey() }));
    assert.ok(issuer.jwksRequests <= before + 1, `${issuer.jwksRequests - before} refetches`);
  });

  test("a 40 KB token is 401 and oversized headers are 431, both problem+json", async () => {
    await expectRejected(await issuer.sign(issuer.claims(AUD, { pad: "x".repeat(40 * 1024) })));
    const res = await stack.token("a".repeat(80 * 1024), { profile: "ci-ado" });
    assert.equal(res.status, 431);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
  });

  test("a 2 MB body with a good token is 413", async () => {
    const token = await issuer.sign(issuer.claims(AUD));
    tried.push(token);
    const res = await stack.token(token, "x".repeat(2 * 1024 * 1024));
    assert.equal(res.status, 413);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
  });

  test("Entra-looking claims from a non-Entra issuer match no tenant grant", async () => {
    const forged = await issuer.sign(
      issuer.claims(AUD, {
        tid: DEV_TENANT_ID,
        appid: devClient("dev-caller").clientId,
        roles: ["Secrets.Admin"],
      }),
    );
    tried.push(forged);
    const res = await stack.token(forged, { profile: "nuget-feed" });
    assert.equal(res.status, 403);
  });

  test("roles in a non-Entra token grant no role: only the tenant asserts app roles", async () => {
    const withRoles = await issuer.sign(issuer.claims(AUD, { roles: ["Inventory.Read", "Secrets.Admin"] }));
    tried.push(withRoles);
    for (const [path, method] of [
      ["/inventory", "GET"],
      ["/inventory/pat-contoso-nuget", "DELETE"],
    ] as const) {
      const res = await stack.api(path, { method, headers: { authorization: `Bearer ${withRoles}` } });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(((await res.json()) as { code: string }).code, "insufficient_role");
    }
    // Control: the same token is verified and granted its profile, so the 403s are about roles.
    assert.equal((await stack.token(withRoles, { profile: "ci-ado" })).status, 200);
  });

  test("known keys keep working while the issuer is down", async () => {
    issuer.up = false;
    try {
      const known = await issuer.sign(issuer.claims(AUD, { jti: "still-good" }));
      tried.push(known);
      assert.equal((await stack.token(known, { profile: "ci-ado" })).status, 200, "known keys keep working");
    } finally {
      issuer.up = true;
    }
  });

  test("no token tried appears in any log line", () => {
    assert.ok(tried.length > 20);
    assert.deepEqual(logsContain(stack.logs, tried), []);
  });
});

describe("an issuer that is down from the start", () => {
  test("answers 503 with Retry-After for its tokens", async () => {
    const issuer = await startTestIssuer();
    issuer.up = false;
    // The broker's clock stands still until the test moves it past the retry backoff.
    let clock = Date.now();
    const stack = await startTestStack(
      { BROKER_TRUSTED_ISSUERS: JSON.stringify([{ issuer: issuer.issuer, audiences: [AUD] }]) },
      { now: () => clock },
    );
    try {
      const res = await stack.token(await issuer.sign(issuer.claims(AUD)), { profile: "ado-read" });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "5");
      assert.equal(((await res.json()) as { code: string }).code, "issuer_unavailable");
      // Once it is back (and a short retry backoff has passed), the same kind of token is verified.
      issuer.up = true;
      const early = await stack.token(await issuer.sign(issuer.claims(AUD)), { profile: "ado-read" });
      assert.equal(early.status, 503, "within the backoff the issuer is not asked again");
      clock += 1100;
      const again = await stack.token(await issuer.sign(issuer.claims(AUD)), { profile: "ado-read" });
      assert.equal(again.status, 403, "verified, but no grant for ado-read");
    } finally {
      await stack.close();
      await issuer.close();
    }
  });
});
