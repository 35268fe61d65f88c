import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decodeJwt } from "jose";
import { createDevCertificate } from "../src/local/dev-certificate.js";
import {
  AZURE_DEVOPS_RESOURCE,
  DEV_CLIENTS,
  DEV_DOWNSTREAM_APP,
  DEV_PUBLIC_CLIENT,
  DEV_USER,
} from "../src/local/dev-identities.js";
import { startEntraEmulator, type EntraEmulator } from "../src/local/emulators/entra.js";
import { DevSigner } from "../src/local/emulators/signer.js";
import { httpSender, type HttpSend } from "../src/net/http-request.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const ADO_SCOPE = `${AZURE_DEVOPS_RESOURCE}/.default offline_access`;

describe("Entra emulator: refresh-token grant and app client secrets", () => {
  let entra: EntraEmulator;
  let signer: DevSigner;
  let send: HttpSend;
  let clock = Date.now();

  const tokenCall = async (form: Record<string, string>) => {
    const res = await send({
      method: "POST",
      url: entra.tokenEndpoint,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, json: JSON.parse(res.body) as Record<string, unknown> };
  };
  const refresh = (refreshToken: string, clientId = DEV_PUBLIC_CLIENT.clientId) =>
    tokenCall({
      grant_type: "refresh_token",
      client_id: clientId,
      refresh_token: refreshToken,
      scope: ADO_SCOPE,
    });

  before(async () => {
    const tls = await createDevCertificate();
    signer = await DevSigner.create();
    send = httpSender({ extraCa: tls.cert, devStack: true });
    entra = await startEntraEmulator({
      tls,
      signer,
      tenantId: TENANT,
      brokerApp: { appIdUri: "api://token-broker", clientId: "a1b2c3d4-0000-4000-8000-0000000000b0" },
      clients: [...DEV_CLIENTS, { ...DEV_DOWNSTREAM_APP, brokerRoles: [] }],
      users: [DEV_USER],
      publicClients: [DEV_PUBLIC_CLIENT],
      refreshTokenLifetimeMs: 60_000,
      now: () => clock,
    });
  });
  after(() => entra.close());

  test("a refresh token gives a user-delegated Azure DevOps token and a new refresh token", async () => {
    const first = entra.mintRefreshToken(DEV_USER.objectId, DEV_PUBLIC_CLIENT.clientId, ADO_SCOPE);
    const answer = await refresh(first);
    assert.equal(answer.status, 200);
    const { access_token: accessToken, refresh_token: rotated } = answer.json;
    assert.equal(typeof accessToken, "string");
    assert.equal(typeof rotated, "string");
    assert.notEqual(rotated, first, "the refresh token is rotated");
    assert.ok(await signer.verifies(String(accessToken), AZURE_DEVOPS_RESOURCE));
    const claims = decodeJwt(String(accessToken));
    assert.equal(claims["scp"], "user_impersonation");
    assert.equal(claims["oid"], DEV_USER.objectId);
    assert.equal(claims["tid"], TENANT);
    assert.equal(claims["appid"], DEV_PUBLIC_CLIENT.clientId);
    assert.equal(claims["appidacr"], "0");
    assert.notEqual(claims["sub"], DEV_USER.objectId, "sub is pairwise for user tokens");
    // Entra keeps the presented refresh token valid until it expires.
    assert.equal((await refresh(first)).status, 200);
    assert.equal((await refresh(String(rotated))).status, 200);
  });

  test("revoked, expired, unknown and foreign refresh tokens are invalid_grant", async () => {
    const before1 = entra.mintRefreshToken(DEV_USER.objectId, DEV_PUBLIC_CLIENT.clientId, ADO_SCOPE);
    const rotated = String((await refresh(before1)).json["refresh_token"]);
    entra.revokeRefreshTokens(DEV_USER.objectId);
    for (const revoked of [before1, rotated]) {
      const answer = await refresh(revoked);
      assert.equal(answer.status, 400);
      assert.equal(answer.json["error"], "invalid_grant");
      assert.deepEqual(answer.json["error_codes"], [50173]);
      assert.match(String(answer.json["error_description"]), /^AADSTS50173: /);
    }
    const fresh = entra.mintRefreshToken(DEV_USER.objectId, DEV_PUBLIC_CLIENT.clientId, ADO_SCOPE);
    assert.equal((await refresh(fresh)).status, 200, "a grant after the revocation works");

    clock += 61_000;
    const expired = await refresh(fresh);
    assert.equal(expired.json["error"], "invalid_grant");
    assert.deepEqual(expired.json["error_codes"], [70008]);

    const unknown = await refresh("0.Anot-a-real-token");
    assert.equal(unknown.json["error"], "invalid_grant");
    const other = entra.mintRefreshToken(DEV_USER.objectId, DEV_PUBLIC_CLIENT.clientId, ADO_SCOPE);
    const unknownClient = await refresh(other, DEV_CLIENTS[0]?.clientId ?? "");
    assert.equal(unknownClient.json["error"], "unauthorized_client");
    assert.equal(
      (await tokenCall({ grant_type: "refresh_token", client_id: DEV_PUBLIC_CLIENT.clientId })).json["error"],
      "invalid_request",
    );
  });

  test("added client secrets work from usableFrom until removed; none at all is invalid_client", async () => {
    const form = (secret?: string) => ({
      grant_type: "client_credentials",
      client_id: DEV_DOWNSTREAM_APP.clientId,
      scope: "https://graph.microsoft.com/.default",
      ...(secret !== undefined ? { client_secret: secret } : {}),
    });
    assert.deepEqual((await tokenCall(form())).json["error_codes"], [7000218]);
    entra.addClientSecret(DEV_DOWNSTREAM_APP.clientId, {
      keyId: "k1",
      secret: "secret-one",
      usableFrom: clock + 5_000,
    });
    const early = await tokenCall(form("secret-one"));
    assert.equal(early.status, 401);
    assert.deepEqual(early.json["error_codes"], [7000215]);
    clock += 5_000;
    assert.equal((await tokenCall(form("secret-one"))).status, 200);
    entra.removeClientSecret(DEV_DOWNSTREAM_APP.clientId, "k1");
    assert.equal((await tokenCall(form("secret-one"))).status, 401);
    assert.ok((entra.stats().byGrant.client_credentials ?? 0) >= 4);
  });
});
