import { randomUUID } from "node:crypto";
import type http from "node:http";
import type { EntraEmulatorOptions } from "./entra.js";
import { entraDeviceCode } from "./entra-device-code.js";
import type { EntraState } from "./entra-state.js";
import {
  DEVICE_CODE_GRANT,
  TOKEN_LIFETIME_SECONDS,
  aadError,
  clientFrom,
  missingClientCredential,
  resourceOf,
  type EntraWire,
} from "./entra-wire.js";
import { readText, sendJson } from "./emulator-http.js";
import { rolesClaim } from "./app-roles.js";
import type { DelegatedClientType } from "./entra.js";

/** The Entra emulator's token endpoints (v2 and v1): client credentials, refresh token, device code. */

export interface GrantContext {
  options: EntraEmulatorOptions;
  now: () => number;
  state: EntraState;
  wire: EntraWire;
  /** The emulator's origin, known once it listens. */
  base: () => string;
}

export type ClientAuthenticated = (
  req: http.IncomingMessage,
  form: URLSearchParams,
  res: http.ServerResponse,
  client: { id: string; type: DelegatedClientType },
) => boolean;

export function entraGrants(ctx: GrantContext) {
  const { options, now, state, wire } = ctx;
  const { signer, tenantId, brokerApp } = options;
  const {
    clients,
    users,
    refreshGrants,
    refreshValidFrom,
    secretAccepted,
    newRefreshToken,
    delegatedClient,
  } = state;
  const { issuerV1, issuerV2, delegatedTokens } = wire;

  /**
   * Client authentication for a delegated redemption: public and SPA clients send nothing (an SPA
   * proves itself by the Origin of a cross-origin request instead); a confidential client must
   * send its secret. An error was answered when false.
   */
  function clientAuthenticated(
    req: http.IncomingMessage,
    form: URLSearchParams,
    res: http.ServerResponse,
    client: { id: string; type: DelegatedClientType },
  ): boolean {
    if (client.type === "public" || client.type === "spa") return true;
    const { secret } = clientFrom(req, form);
    if (secret === undefined) {
      missingClientCredential(res);
      return false;
    }
    const registered = clients.get(client.id);
    if (registered === undefined || !secretAccepted(registered, secret)) {
      aadError(res, 401, "invalid_client", 7000215, "Invalid client secret provided.");
      return false;
    }
    return true;
  }

  const { deviceCode, deviceToken } = entraDeviceCode(ctx, clientAuthenticated);

  async function token(req: http.IncomingMessage, res: http.ServerResponse, v2: boolean): Promise<void> {
    const text = await readText(req);
    if (text === null) return aadError(res, 400, "invalid_request", 90014, "The request body is too large.");
    const form = new URLSearchParams(text);
    const grantType = form.get("grant_type");
    // RFC 8628's URN, or the short form msal-common sends (Entra takes both).
    const grant = grantType === DEVICE_CODE_GRANT ? "device_code" : grantType;
    if (grant === "client_credentials" || grant === "refresh_token" || grant === "device_code") {
      state.countRequest(grant);
    }
    if (grant === "refresh_token") return refresh(req, form, res, v2);
    if (grant === "device_code" && v2) return deviceToken(req, form, res);
    if (grant !== "client_credentials") {
      return aadError(
        res,
        400,
        "unsupported_grant_type",
        70003,
        "The app requested an unsupported grant type.",
      );
    }
    const { id, secret } = clientFrom(req, form);
    const client = id !== undefined ? clients.get(id) : undefined;
    if (client === undefined) {
      return aadError(res, 400, "unauthorized_client", 700016, "Application was not found in the directory.");
    }
    if (secret === undefined) {
      return missingClientCredential(res);
    }
    if (!secretAccepted(client, secret)) {
      return aadError(res, 401, "invalid_client", 7000215, "Invalid client secret provided.");
    }
    let resource: string | undefined;
    if (v2) {
      const scope = form.get("scope") ?? "";
      if (!/^\S+\/\.default$/.test(scope)) {
        return aadError(res, 400, "invalid_scope", 1002012, "The provided value for scope is not valid.");
      }
      resource = scope.slice(0, -"/.default".length);
    } else {
      resource = form.get("resource") ?? undefined;
      if (resource === undefined || resource === "") {
        return aadError(
          res,
          400,
          "invalid_request",
          900144,
          "The request body must contain the parameter: 'resource'.",
        );
      }
    }
    const forBroker = [brokerApp.appIdUri, brokerApp.clientId, `api://${brokerApp.clientId}`].includes(
      resource,
    );
    // The token version follows the API app's manifest; `token_version` is an emulator-only switch for tests.
    const version = forBroker && form.get("token_version") === "2" ? "2.0" : "1.0";
    const iat = Math.floor(now() / 1000);
    const roles = forBroker ? client.brokerRoles : (rolesClaim(client.resourceRoles, resource).roles ?? []);
    const claims = {
      aud: version === "2.0" ? brokerApp.clientId : resource,
      iss: version === "2.0" ? issuerV2() : issuerV1,
      iat,
      nbf: iat,
      exp: iat + TOKEN_LIFETIME_SECONDS,
      ...(version === "2.0"
        ? { azp: client.clientId, azpacr: "1" }
        : { appid: client.clientId, appidacr: "1" }),
      idp: issuerV1,
      idtyp: "app",
      oid: client.objectId,
      sub: client.objectId,
      tid: tenantId,
      ...(roles.length > 0 ? { roles: [...roles] } : {}),
      uti: randomUUID().replace(/-/g, "").slice(0, 22),
      ver: version,
    };
    sendJson(res, 200, {
      token_type: "Bearer",
      expires_in: TOKEN_LIFETIME_SECONDS,
      ext_expires_in: TOKEN_LIFETIME_SECONDS,
      ...(v2 ? {} : { expires_on: String(iat + TOKEN_LIFETIME_SECONDS), resource }),
      access_token: await signer.sign(claims),
    });
  }

  /** The resource of a delegated request: v2 `{resource}/.default` or `/user_impersonation` among OIDC scopes, v1 `resource`. */
  function delegatedResource(form: URLSearchParams, v2: boolean): string | undefined {
    if (!v2) return form.get("resource") ?? undefined;
    return resourceOf((form.get("scope") ?? "").split(" ").filter((x) => x !== ""));
  }

  async function refresh(
    req: http.IncomingMessage,
    form: URLSearchParams,
    res: http.ServerResponse,
    v2: boolean,
  ): Promise<void> {
    const clientId = form.get("client_id");
    const presented = form.get("refresh_token");
    if (clientId === null || clientId === "") {
      return aadError(
        res,
        400,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'client_id'.",
      );
    }
    if (presented === null || presented === "") {
      return aadError(
        res,
        400,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'refresh_token'.",
      );
    }
    const client = delegatedClient(clientId);
    if (client === undefined) {
      return aadError(res, 400, "unauthorized_client", 700016, "Application was not found in the directory.");
    }
    if (!clientAuthenticated(req, form, res, client)) return;
    if (client.type === "spa" && req.headers.origin === undefined) {
      return aadError(
        res,
        400,
        "invalid_request",
        9002327,
        "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
      );
    }
    const grant = refreshGrants.get(presented);
    if (grant === undefined) {
      return aadError(
        res,
        400,
        "invalid_grant",
        9002313,
        "Invalid request. Request is malformed or invalid.",
      );
    }
    if (grant.clientId !== clientId) {
      return aadError(res, 400, "invalid_grant", 70000, "Provided grant is invalid or malformed.");
    }
    const user = users.get(grant.userObjectId);
    const validFrom = refreshValidFrom.get(grant.userObjectId) ?? -Infinity;
    if (user === undefined || grant.serial < validFrom) {
      return aadError(
        res,
        400,
        "invalid_grant",
        50173,
        "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
      );
    }
    if (now() >= grant.expiresAt && grant.clientType === "spa") {
      return aadError(
        res,
        400,
        "invalid_grant",
        700084,
        "The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page.",
      );
    }
    if (now() >= grant.expiresAt) {
      return aadError(
        res,
        400,
        "invalid_grant",
        70008,
        "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
      );
    }
    const resource = delegatedResource(form, v2);
    if (resource === undefined || resource === "") {
      return aadError(
        res,
        400,
        "invalid_scope",
        70011,
        "The provided value for the input parameter 'scope' is not valid.",
      );
    }
    // A new refresh token every time; the presented one keeps working until it expires (Entra).
    // An SPA's keeps the sign-in's 24-hour end: rotation does not extend it.
    const rotated = newRefreshToken(
      { userObjectId: user.objectId, clientId, clientType: grant.clientType, scope: grant.scope },
      grant.clientType === "spa" ? grant.expiresAt : undefined,
    );
    const answer = await delegatedTokens(user, client, resource, [], rotated, form);
    const iat = Math.floor(now() / 1000);
    sendJson(res, 200, {
      ...answer,
      ...(v2 ? {} : { expires_on: String(iat + TOKEN_LIFETIME_SECONDS), resource }),
    });
  }

  return { token, deviceCode };
}
