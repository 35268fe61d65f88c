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
import { DEVICE_CODE_GRANT, startEntraEmulator, type EntraEmulator } from "../src/local/emulators/entra.js";
import { DevSigner } from "../src/local/emulators/signer.js";
import { httpSender, type HttpSend } from "../src/net/http-request.js";

const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
const CONFIDENTIAL = DEV_CLIENTS[0] as (typeof DEV_CLIENTS)[number];
const SPA = { clientId: "a1b2c3d4-0000-4000-8000-0000000000f5", name: "spa" };
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
      spaClients: [SPA],
      refreshTokenLifetimeMs: 60_000,
      deviceCodeIntervalSeconds: 1,
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
    const unknownClient = await refresh(other, "a1b2c3d4-0000-4000-8000-00000000ffff");
    assert.equal(unknownClient.json["error"], "unauthorized_client");
    // Another client (here a confidential one, with its secret) cannot redeem the public client's token.
    const foreign = await tokenCall({
      grant_type: "refresh_token",
      client_id: CONFIDENTIAL.clientId,
      client_secret: CONFIDENTIAL.secret,
      refresh_token: other,
      scope: ADO_SCOPE,
    });
    assert.equal(foreign.json["error"], "invalid_grant");
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

  test("a confidential client redeems its refresh token only with its secret", async () => {
    const token = entra.mintRefreshToken(DEV_USER.objectId, CONFIDENTIAL.clientId, ADO_SCOPE);
    const form = (secret?: string) => ({
      grant_type: "refresh_token",
      client_id: CONFIDENTIAL.clientId,
      refresh_token: token,
      scope: ADO_SCOPE,
      ...(secret !== undefined ? { client_secret: secret } : {}),
    });
    const without = await tokenCall(form());
    assert.equal(without.status, 401);
    assert.equal(without.json["error"], "invalid_client");
    assert.deepEqual(without.json["error_codes"], [7000218]);
    const wrong = await tokenCall(form("not-the-secret"));
    assert.deepEqual(wrong.json["error_codes"], [7000215]);
    const ok = await tokenCall(form(CONFIDENTIAL.secret));
    assert.equal(ok.status, 200);
    assert.equal(decodeJwt(String(ok.json["access_token"]))["appidacr"], "1");
  });

  test("an SPA's refresh token is redeemed only cross-origin and ends 24 hours after sign-in", async () => {
    const token = entra.mintRefreshToken(DEV_USER.objectId, SPA.clientId, ADO_SCOPE);
    const form = {
      grant_type: "refresh_token",
      client_id: SPA.clientId,
      refresh_token: token,
      scope: ADO_SCOPE,
    };
    const serverSide = await tokenCall(form);
    assert.deepEqual(serverSide.json["error_codes"], [9002327]);
    const corsCall = async (refreshToken: string) => {
      const res = await send({
        method: "POST",
        url: entra.tokenEndpoint,
        headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://app.contoso.com" },
        body: new URLSearchParams({ ...form, refresh_token: refreshToken }).toString(),
      });
      return JSON.parse(res.body) as Record<string, unknown>;
    };
    const first = await corsCall(token);
    assert.equal(typeof first["access_token"], "string");
    clock += 23 * 3600_000;
    // The rotated token carries the sign-in's end over: it is not 24 hours from its own issue.
    const rotated = String((await corsCall(String(first["refresh_token"])))["refresh_token"]);
    clock += 3600_000;
    const expired = await corsCall(rotated);
    assert.equal(expired["error"], "invalid_grant");
    assert.deepEqual(expired["error_codes"], [700084]);
  });

  test("device code: pending until the user signs in, then tokens once; declined and SPA clients fail", async () => {
    const start = async (
      clientId: string,
      scope = `${AZURE_DEVOPS_RESOURCE}/user_impersonation offline_access openid profile`,
    ) => {
      const res = await send({
        method: "POST",
        url: `${entra.url}/${TENANT}/oauth2/v2.0/devicecode`,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ client_id: clientId, scope }).toString(),
      });
      return { status: res.status, json: JSON.parse(res.body) as Record<string, unknown> };
    };
    const poll = (
      deviceCode: string,
      clientId = DEV_PUBLIC_CLIENT.clientId,
      extra: Record<string, string> = {},
    ) =>
      tokenCall({
        grant_type: DEVICE_CODE_GRANT,
        client_id: clientId,
        device_code: deviceCode,
        client_info: "1",
        ...extra,
      });

    const code = await start(DEV_PUBLIC_CLIENT.clientId);
    assert.equal(code.status, 200);
    const { device_code: deviceCode, user_code: userCode, verification_uri: uri, message } = code.json;
    assert.equal(code.json["interval"], 1);
    assert.equal(code.json["expires_in"], 900);
    assert.match(String(message), new RegExp(`${String(uri)} and enter the code ${String(userCode)}`));
    const pending = await poll(String(deviceCode));
    assert.equal(pending.status, 400);
    assert.equal(pending.json["error"], "authorization_pending");
    assert.deepEqual(entra.pendingUserCodes().includes(String(userCode)), true);
    assert.equal(entra.approveDeviceCode(String(userCode), DEV_USER.objectId), true);
    const done = await poll(String(deviceCode));
    assert.equal(done.status, 200);
    assert.equal(typeof done.json["refresh_token"], "string");
    assert.equal(decodeJwt(String(done.json["access_token"]))["oid"], DEV_USER.objectId);
    const idToken = decodeJwt(String(done.json["id_token"]));
    assert.equal(idToken["aud"], DEV_PUBLIC_CLIENT.clientId);
    assert.equal(idToken["preferred_username"], DEV_USER.userPrincipalName);
    const clientInfo: unknown = JSON.parse(
      Buffer.from(String(done.json["client_info"]), "base64url").toString("utf8"),
    );
    assert.deepEqual(clientInfo, { uid: DEV_USER.objectId, utid: TENANT });
    assert.equal(
      (await refresh(String(done.json["refresh_token"]))).status,
      200,
      "the consented grant redeems",
    );
    assert.equal(
      (await poll(String(deviceCode))).json["error"],
      "bad_verification_code",
      "a code serves once",
    );

    // A confidential client must send its secret when it redeems the device code.
    const web = await start(CONFIDENTIAL.clientId);
    entra.approveDeviceCode(String(web.json["user_code"]), DEV_USER.objectId);
    const noSecret = await poll(String(web.json["device_code"]), CONFIDENTIAL.clientId);
    assert.deepEqual(noSecret.json["error_codes"], [7000218]);
    const withSecret = await poll(String(web.json["device_code"]), CONFIDENTIAL.clientId, {
      client_secret: CONFIDENTIAL.secret,
    });
    assert.equal(withSecret.status, 200);

    const spa = await start(SPA.clientId);
    entra.approveDeviceCode(String(spa.json["user_code"]), DEV_USER.objectId);
    assert.deepEqual(
      (await poll(String(spa.json["device_code"]), SPA.clientId)).json["error_codes"],
      [7000218],
    );

    const declined = await start(DEV_PUBLIC_CLIENT.clientId);
    assert.equal(entra.declineDeviceCode(String(declined.json["user_code"])), true);
    assert.equal((await poll(String(declined.json["device_code"]))).json["error"], "authorization_declined");

    const late = await start(DEV_PUBLIC_CLIENT.clientId);
    clock += 901_000;
    assert.equal((await poll(String(late.json["device_code"]))).json["error"], "expired_token");
    assert.equal(entra.approveDeviceCode(String(late.json["user_code"]), DEV_USER.objectId), false);

    assert.equal((await start("a1b2c3d4-0000-4000-8000-00000000ffff")).json["error"], "unauthorized_client");
    assert.equal(
      (await start(DEV_PUBLIC_CLIENT.clientId, "openid offline_access")).json["error"],
      "invalid_scope",
    );
  });
});
