import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Authenticator, MAX_TOKEN_LENGTH } from "../src/auth/authenticator.js";
import type { IssuerTrust } from "../src/auth/issuers.js";
import { AuthError } from "../src/auth/auth-error.js";
import { toProblem } from "../src/http/errors.js";
import { createLogger } from "../src/log.js";
import { startTestIssuer, type TestIssuer } from "./support/test-issuer.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const OTHER_TENANT = "f0e1d2c3-0000-4000-8000-000000000009";
const AUD = "api://token-broker-checks";
const CLIENT = "a1b2c3d4-0000-4000-8000-0000000000c1";

/**
 * Each security check of the authenticator on its own: a token that every other check passes,
 * refused for exactly one reason (asserted by its detail), next to a control that passes. Removing
 * the check makes its test fail.
 */
describe("authenticator checks, one by one", () => {
  let issuer: TestIssuer;
  let entra: Authenticator;
  let trusted: Authenticator;

  before(async () => {
    issuer = await startTestIssuer();
    const keys = { jwksUri: `${issuer.issuer}/.well-known/jwks` };
    const trust = (kind: IssuerTrust["kind"]): IssuerTrust => ({
      issuer: issuer.issuer,
      kind,
      audiences: [AUD],
      keys,
    });
    entra = new Authenticator([trust("entra")], { tenantId: TENANT, devStack: true });
    trusted = new Authenticator([trust("trusted")], { tenantId: TENANT, devStack: true });
  });
  after(() => issuer.close());

  const refused = async (auth: Authenticator, token: string, detail: RegExp) => {
    await assert.rejects(auth.authenticate(token), (e: unknown) => {
      // The domain's refusal, and the one answer the HTTP layer makes of it.
      assert.ok(e instanceof AuthError, String(e));
      const problem = toProblem(
        e,
        createLogger(() => assert.fail("a refusal is not logged")),
      );
      assert.equal(problem.status, 401);
      assert.equal(problem.code, "invalid_token");
      assert.match(problem.detail, detail);
      return true;
    });
  };

  test("Entra: a token of another tenant is refused; ours passes, whatever the case of tid", async () => {
    await refused(
      entra,
      await issuer.sign(issuer.claims(AUD, { tid: OTHER_TENANT, appid: CLIENT })),
      /from another tenant/,
    );
    await refused(entra, await issuer.sign(issuer.claims(AUD, { appid: CLIENT })), /from another tenant/);
    const ours = await entra.authenticate(
      await issuer.sign(issuer.claims(AUD, { tid: TENANT.toUpperCase(), appid: CLIENT })),
    );
    assert.equal(ours.claims["appid"], CLIENT);
  });

  test("Entra: an ID token (no appid, no azp) is refused; v1 appid and v2 azp pass", async () => {
    await refused(
      entra,
      await issuer.sign(issuer.claims(AUD, { tid: TENANT, oid: "u1", name: "A User" })),
      /not an access token/,
    );
    const v1 = await entra.authenticate(
      await issuer.sign(issuer.claims(AUD, { tid: TENANT, appid: CLIENT })),
    );
    assert.equal(v1.claims["appid"], CLIENT);
    const v2 = await entra.authenticate(await issuer.sign(issuer.claims(AUD, { tid: TENANT, azp: CLIENT })));
    assert.equal(v2.claims["appid"], CLIENT, "azp stands for appid");
  });

  test("a trusted non-Entra issuer has no tenant or client claims to check, and gets no appid from azp", async () => {
    const p = await trusted.authenticate(await issuer.sign(issuer.claims(AUD, { azp: CLIENT })));
    assert.equal(p.issuerKind, "trusted");
    assert.equal(p.claims["appid"], undefined);
  });

  test("a lifetime longer than 25 h is refused; 24 h passes", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { tid: TENANT, appid: CLIENT, iat: now };
    await refused(
      entra,
      await issuer.sign(issuer.claims(AUD, { ...claims, exp: now + 26 * 3600 })),
      /lifetime is too long/,
    );
    await entra.authenticate(await issuer.sign(issuer.claims(AUD, { ...claims, exp: now + 24 * 3600 })));
  });

  test("a token over the size cap is refused before parsing; just under it passes", async () => {
    const claims = issuer.claims(AUD, { tid: TENANT, appid: CLIENT });
    const base = (await issuer.sign({ ...claims, pad: "" })).length;
    // Base64url grows 4/3: pad so the token lands just over and just under the cap.
    const padFor = (target: number) => "x".repeat(Math.floor(((target - base) * 3) / 4));
    const over = await issuer.sign({ ...claims, pad: padFor(MAX_TOKEN_LENGTH + 8) });
    assert.ok(over.length > MAX_TOKEN_LENGTH);
    await refused(entra, over, /too large/);
    const under = await issuer.sign({ ...claims, pad: padFor(MAX_TOKEN_LENGTH - 8) });
    assert.ok(under.length <= MAX_TOKEN_LENGTH);
    await entra.authenticate(under);
  });
});
