import { createHash, randomBytes, randomUUID } from "node:crypto";
import https from "node:https";
import type http from "node:http";
import type { DevCertificate } from "../dev-certificate.js";
import { z } from "zod";
import { jsonOrUndefined } from "../../net/json-text.js";
import { FaultQueue, listen, readText, sendJson, plainFaultSchema, serveControl } from "./emulator-http.js";
import { rolesClaim, type ResourceRoles } from "./app-roles.js";
import type { DevSigner } from "./signer.js";

/**
 * An Entra-like tenant on loopback HTTPS: OIDC discovery (v1 and v2), JWKS, the
 * client-credentials grant, the device-code flow and the refresh-token grant (user-delegated
 * tokens) on the v2 and v1 token endpoints. Enough for `curl`, for @azure/identity's
 * ClientSecretCredential and for msal-node's PublicClientApplication.acquireTokenByDeviceCode
 * (authorityHost = this URL, instance discovery off / knownAuthorities).
 *
 * Client types, as Entra treats them for delegated grants: a public client (allow public client
 * flows) redeems without a secret; a confidential (web) client must send its secret on the
 * device-code and every refresh-token redemption (else invalid_client, AADSTS7000218); refresh
 * tokens of an SPA redirect URI live 24 hours from sign-in, carried over to each rotated one,
 * and are redeemed only cross-origin (an Origin header, else AADSTS9002327).
 */

export interface EntraClient {
  clientId: string;
  objectId: string;
  /** A fixed secret; apps whose secrets come and go (Graph addPassword) use addClientSecret. */
  secret?: string;
  /** App roles assigned on the broker's API. */
  brokerRoles: readonly string[];
  /** App roles on other resources, by resource URI (e.g. Graph's Application.ReadWrite.OwnedBy). */
  resourceRoles?: ResourceRoles;
}

/** A user of the tenant, for delegated (refresh-token) grants. */
export interface EntraUser {
  objectId: string;
  userPrincipalName: string;
  displayName: string;
}

/** A public client (no secret) that users sign in to, e.g. the broker's PAT rotator. */
export interface EntraPublicClient {
  clientId: string;
  name: string;
}

/** An app whose only platform is a single-page app (SPA redirect URIs): no secret, not a public client. */
export type EntraSpaClient = EntraPublicClient;

/** How a delegated grant's client authenticates; decides what its refresh tokens need. */
export type DelegatedClientType = "public" | "confidential" | "spa";

/** One of an app's client secrets, as Graph's addPassword creates them. */
export interface EntraClientSecret {
  keyId: string;
  secret: string;
  /** Epoch ms from which Entra accepts it: a new secret takes a while to propagate. */
  usableFrom?: number;
  /** Epoch ms after which it is refused (the password credential's endDateTime). */
  expiresOn?: number;
}

export type EntraGrant = "client_credentials" | "refresh_token" | "device_code";

export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

export interface EntraEmulatorOptions {
  tls: DevCertificate;
  signer: DevSigner;
  tenantId: string;
  brokerApp: { appIdUri: string; clientId: string };
  clients: readonly EntraClient[];
  users?: readonly EntraUser[];
  publicClients?: readonly EntraPublicClient[];
  /** The clock a client secret's usableFrom and expiresOn are judged by (tests: fake time; default `now`). */
  secretClock?: () => number;
  spaClients?: readonly EntraSpaClient[];
  /** Inactivity lifetime of a refresh token (Entra: 90 days). */
  refreshTokenLifetimeMs?: number;
  /** Polling interval the device-code endpoint answers (Entra: 5 s); tests shorten it. */
  deviceCodeIntervalSeconds?: number;
  /** How long a device code waits for its user (Entra: 900 s). */
  deviceCodeLifetimeSeconds?: number;
  host?: string;
  port?: number;
  now?: () => number;
}

export interface EntraEmulator {
  /** The authority host, e.g. https://127.0.0.1:PORT (AZURE_AUTHORITY_HOST). */
  url: string;
  issuerV1: string;
  issuerV2: string;
  tokenEndpoint: string;
  addClient: (client: EntraClient) => void;
  /** Adds a client secret to a registered app (what Graph's addPassword does upstream). */
  addClientSecret: (clientId: string, secret: EntraClientSecret) => void;
  /** Removes one of an app's client secrets by keyId (Graph's removePassword). */
  removeClientSecret: (clientId: string, keyId: string) => void;
  /**
   * A first refresh token for `user` signed in to the public client `clientId`, as an interactive
   * sign-in would leave it (the dev stack seeds the vault with it).
   */
  mintRefreshToken: (userObjectId: string, clientId: string, scope: string) => string;
  /**
   * Test hook for the device-code flow: the user enters `userCode` at the verification page and
   * signs in (`approve`) or refuses (`decline`). False when no pending code has that user code.
   */
  approveDeviceCode: (userCode: string, userObjectId: string) => boolean;
  declineDeviceCode: (userCode: string) => boolean;
  /** User codes still waiting for their user (newest last). */
  pendingUserCodes: () => string[];
  /** Invalidates every refresh token issued to the user so far (Graph's revokeSignInSessions). */
  revokeRefreshTokens: (userObjectId: string) => void;
  stats: () => { tokenRequests: number; byGrant: Partial<Record<EntraGrant, number>> };
  resetStats: () => void;
  /** Drops every injected fault not yet served. */
  clearFaults: () => void;
  close: () => Promise<void>;
}

const TOKEN_LIFETIME_SECONDS = 3599;
const REFRESH_TOKEN_LIFETIME_MS = 90 * 24 * 3600_000;
/** Refresh tokens of SPA redirect URIs: 24 hours from the sign-in, not extended by rotation. */
const SPA_REFRESH_TOKEN_LIFETIME_MS = 24 * 3600_000;
const OIDC_SCOPES = ["openid", "profile", "email", "offline_access"];
/** Delegated permission granted for a `{resource}/.default` request (what the user consented to). */
const DELEGATED_SCOPE = "user_impersonation";

interface RefreshGrant {
  userObjectId: string;
  clientId: string;
  clientType: DelegatedClientType;
  scope: string;
  /** Issue order: revocation compares it, since several tokens can share a millisecond. */
  serial: number;
  expiresAt: number;
}

interface DeviceCodeState {
  userCode: string;
  client: { id: string; type: DelegatedClientType };
  resource: string;
  scopes: string[];
  expiresAt: number;
  state: "pending" | "approved" | "declined";
  userObjectId?: string;
}

const approveSchema = z.strictObject({
  userCode: z.string().min(1).max(20),
  userObjectId: z.string().min(1).max(100),
});

/** A user code as Entra shows them: nine letters and digits, without look-alikes. */
function randomUserCode(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  return [...randomBytes(9)].map((b) => alphabet[b % alphabet.length]).join("");
}

/**
 * The resource of delegated scopes: exactly one `{resource}/.default` or `{resource}/user_impersonation`
 * (what the emulated users consented to) among the OIDC scopes.
 */
function resourceOf(scopes: readonly string[]): string | undefined {
  const others = scopes.filter((x) => !OIDC_SCOPES.includes(x));
  const match = others.length === 1 ? /^(\S+)\/(\.default|user_impersonation)$/.exec(others[0] ?? "") : null;
  return match?.[1];
}

/** AADSTS7000218: a confidential client (or an SPA on the device flow) sent no credential. */
function missingClientCredential(res: http.ServerResponse): void {
  aadError(
    res,
    401,
    "invalid_client",
    7000218,
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  );
}

function aadError(
  res: http.ServerResponse,
  status: number,
  error: string,
  code: number,
  description: string,
): void {
  sendJson(res, status, {
    error,
    error_description: `AADSTS${code}: ${description}`,
    error_codes: [code],
    timestamp: new Date().toISOString().replace("T", " ").slice(0, 19) + "Z",
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  });
}

export async function startEntraEmulator(options: EntraEmulatorOptions): Promise<EntraEmulator> {
  const { signer, tenantId, brokerApp } = options;
  const now = options.now ?? Date.now;
  const host = options.host ?? "127.0.0.1";
  const clients = new Map(options.clients.map((c) => [c.clientId, c]));
  const clientSecrets = new Map<string, EntraClientSecret[]>();
  const users = new Map((options.users ?? []).map((u) => [u.objectId, u]));
  const publicClients = new Map((options.publicClients ?? []).map((c) => [c.clientId, c]));
  const spaClients = new Map((options.spaClients ?? []).map((c) => [c.clientId, c]));
  const refreshLifetime = options.refreshTokenLifetimeMs ?? REFRESH_TOKEN_LIFETIME_MS;
  const deviceInterval = options.deviceCodeIntervalSeconds ?? 5;
  const deviceLifetime = options.deviceCodeLifetimeSeconds ?? 900;
  const deviceCodes = new Map<string, DeviceCodeState>();
  const refreshGrants = new Map<string, RefreshGrant>();
  // Like refreshTokensValidFromDateTime: a user's grants issued before this serial are revoked.
  const refreshValidFrom = new Map<string, number>();
  let serial = 0;
  const faults = new FaultQueue();
  let stats = { tokenRequests: 0, byGrant: {} as Partial<Record<EntraGrant, number>> };
  let base = "";
  const issuerV1 = `https://sts.windows.net/${tenantId}/`;
  const issuerV2 = () => `${base}/${tenantId}/v2.0`;

  const discoveryV2 = () => ({
    issuer: issuerV2(),
    authorization_endpoint: `${base}/${tenantId}/oauth2/v2.0/authorize`,
    token_endpoint: `${base}/${tenantId}/oauth2/v2.0/token`,
    end_session_endpoint: `${base}/${tenantId}/oauth2/v2.0/logout`,
    jwks_uri: `${base}/${tenantId}/discovery/v2.0/keys`,
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    device_authorization_endpoint: `${base}/${tenantId}/oauth2/v2.0/devicecode`,
    grant_types_supported: ["client_credentials", "refresh_token", DEVICE_CODE_GRANT],
    tenant_region_scope: "EU",
  });
  const discoveryV1 = () => ({
    issuer: issuerV1,
    authorization_endpoint: `${base}/${tenantId}/oauth2/authorize`,
    token_endpoint: `${base}/${tenantId}/oauth2/token`,
    jwks_uri: `${base}/common/discovery/keys`,
    response_types_supported: ["code", "id_token", "code id_token", "token id_token", "token"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
  });

  function clientFrom(req: http.IncomingMessage, form: URLSearchParams): { id?: string; secret?: string } {
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? "");
    if (basic?.[1] !== undefined) {
      const [id, secret] = Buffer.from(basic[1], "base64").toString("utf8").split(":");
      return {
        ...(id ? { id: decodeURIComponent(id) } : {}),
        ...(secret ? { secret: decodeURIComponent(secret) } : {}),
      };
    }
    const id = form.get("client_id") ?? undefined;
    const secret = form.get("client_secret") ?? undefined;
    return { ...(id ? { id } : {}), ...(secret ? { secret } : {}) };
  }

  async function token(req: http.IncomingMessage, res: http.ServerResponse, v2: boolean): Promise<void> {
    const text = await readText(req);
    if (text === null) return aadError(res, 400, "invalid_request", 90014, "The request body is too large.");
    const form = new URLSearchParams(text);
    const grantType = form.get("grant_type");
    // RFC 8628's URN, or the short form msal-common sends (Entra takes both).
    const grant = grantType === DEVICE_CODE_GRANT ? "device_code" : grantType;
    if (grant === "client_credentials" || grant === "refresh_token" || grant === "device_code") {
      stats.tokenRequests += 1;
      stats.byGrant[grant] = (stats.byGrant[grant] ?? 0) + 1;
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

  function secretAccepted(client: EntraClient, secret: string): boolean {
    if (client.secret !== undefined && secret === client.secret) return true;
    const t = (options.secretClock ?? now)();
    return (clientSecrets.get(client.clientId) ?? []).some(
      (s) =>
        s.secret === secret &&
        (s.usableFrom === undefined || t >= s.usableFrom) &&
        (s.expiresOn ?? Infinity) > t,
    );
  }

  function newRefreshToken(grant: Omit<RefreshGrant, "serial" | "expiresAt">, expiresAt?: number): string {
    // Opaque, like Entra's (which are encrypted blobs starting "0.A"); only this emulator reads them.
    const value = `0.A${randomBytes(160).toString("base64url")}`;
    serial += 1;
    const lifetime = grant.clientType === "spa" ? SPA_REFRESH_TOKEN_LIFETIME_MS : refreshLifetime;
    refreshGrants.set(value, { ...grant, serial, expiresAt: expiresAt ?? now() + lifetime });
    return value;
  }

  /** The delegated client of `clientId` and its type; undefined when the tenant has no such app. */
  function delegatedClient(clientId: string): { id: string; type: DelegatedClientType } | undefined {
    if (publicClients.has(clientId)) return { id: clientId, type: "public" };
    if (spaClients.has(clientId)) return { id: clientId, type: "spa" };
    if (clients.has(clientId)) return { id: clientId, type: "confidential" };
    return undefined;
  }

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

  /** The user's delegated token set: access token for `resource`, and what the scopes asked for. */
  async function delegatedTokens(
    user: EntraUser,
    client: { id: string; type: DelegatedClientType },
    resource: string,
    requested: readonly string[],
    refreshToken: string | undefined,
    form: URLSearchParams,
  ): Promise<Record<string, unknown>> {
    const iat = Math.floor(now() / 1000);
    const sub = createHash("sha256").update(`${user.objectId}:${client.id}`).digest("base64url").slice(0, 43);
    const access = {
      aud: resource,
      iss: issuerV1,
      iat,
      nbf: iat,
      exp: iat + TOKEN_LIFETIME_SECONDS,
      acr: "1",
      amr: ["pwd", "mfa"],
      appid: client.id,
      appidacr: client.type === "confidential" ? "1" : "0",
      idp: issuerV1,
      name: user.displayName,
      oid: user.objectId,
      scp: DELEGATED_SCOPE,
      // Pairwise per app, as Entra makes it: stable for one user and one client.
      sub,
      tid: tenantId,
      unique_name: user.userPrincipalName,
      upn: user.userPrincipalName,
      uti: randomUUID().replace(/-/g, "").slice(0, 22),
      ver: "1.0",
    };
    const answer: Record<string, unknown> = {
      token_type: "Bearer",
      scope: `${resource}/${DELEGATED_SCOPE}`,
      expires_in: TOKEN_LIFETIME_SECONDS,
      ext_expires_in: TOKEN_LIFETIME_SECONDS,
      access_token: await signer.sign(access),
    };
    if (refreshToken !== undefined) answer["refresh_token"] = refreshToken;
    if (requested.includes("openid")) {
      answer["id_token"] = await signer.sign({
        aud: client.id,
        iss: issuerV2(),
        iat,
        nbf: iat,
        exp: iat + TOKEN_LIFETIME_SECONDS,
        name: user.displayName,
        oid: user.objectId,
        preferred_username: user.userPrincipalName,
        sub,
        tid: tenantId,
        ver: "2.0",
      });
    }
    // MSAL asks for client_info=1: the account's home id (uid.utid), as Entra sends it.
    if (form.get("client_info") === "1") {
      answer["client_info"] = Buffer.from(JSON.stringify({ uid: user.objectId, utid: tenantId })).toString(
        "base64url",
      );
    }
    return answer;
  }

  /** `POST /{tenant}/oauth2/v2.0/devicecode`: a device code and the user code to enter at the verification page. */
  async function deviceCode(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const text = await readText(req);
    if (text === null) return aadError(res, 400, "invalid_request", 90014, "The request body is too large.");
    const form = new URLSearchParams(text);
    const clientId = form.get("client_id") ?? "";
    const client = delegatedClient(clientId);
    if (client === undefined) {
      return aadError(res, 400, "unauthorized_client", 700016, "Application was not found in the directory.");
    }
    const scopes = (form.get("scope") ?? "").split(" ").filter((x) => x !== "");
    const resource = resourceOf(scopes);
    if (resource === undefined) {
      return aadError(
        res,
        400,
        "invalid_scope",
        70011,
        "The provided value for the input parameter 'scope' is not valid.",
      );
    }
    const userCode = randomUserCode();
    const device = randomBytes(96).toString("base64url");
    deviceCodes.set(device, {
      userCode,
      client,
      resource,
      scopes,
      expiresAt: now() + deviceLifetime * 1000,
      state: "pending",
    });
    const verificationUri = `${base}/devicelogin`;
    sendJson(res, 200, {
      user_code: userCode,
      device_code: device,
      verification_uri: verificationUri,
      expires_in: deviceLifetime,
      interval: deviceInterval,
      message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
    });
  }

  /** The token endpoint's device-code grant: pending until the user signs in, then the user's tokens, once. */
  async function deviceToken(
    req: http.IncomingMessage,
    form: URLSearchParams,
    res: http.ServerResponse,
  ): Promise<void> {
    const code = form.get("device_code") ?? "";
    const entry = deviceCodes.get(code);
    if (entry === undefined || entry.client.id !== form.get("client_id")) {
      return aadError(
        res,
        400,
        "bad_verification_code",
        70018,
        "The provided value for the input parameter 'device_code' is not valid.",
      );
    }
    if (entry.client.type === "spa") {
      // An app whose only platform is SPA is not a public client: the device flow wants a credential it has not got.
      return missingClientCredential(res);
    }
    if (!clientAuthenticated(req, form, res, entry.client)) return;
    if (now() >= entry.expiresAt) {
      deviceCodes.delete(code);
      return aadError(res, 400, "expired_token", 70019, "Verification code expired.");
    }
    if (entry.state === "declined") {
      deviceCodes.delete(code);
      return aadError(res, 400, "authorization_declined", 70000, "The user declined the sign-in.");
    }
    if (entry.state === "pending") {
      return aadError(
        res,
        400,
        "authorization_pending",
        70016,
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
      );
    }
    const user = users.get(entry.userObjectId ?? "");
    if (user === undefined) {
      return aadError(res, 400, "invalid_grant", 50034, "The user account does not exist in this directory.");
    }
    deviceCodes.delete(code);
    const refreshToken = entry.scopes.includes("offline_access")
      ? newRefreshToken({
          userObjectId: user.objectId,
          clientId: entry.client.id,
          clientType: entry.client.type,
          scope: entry.scopes.join(" "),
        })
      : undefined;
    sendJson(
      res,
      200,
      await delegatedTokens(user, entry.client, entry.resource, entry.scopes, refreshToken, form),
    );
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

  function pendingByUserCode(userCode: string): DeviceCodeState | undefined {
    const wanted = userCode.trim().toUpperCase();
    return [...deviceCodes.values()].find(
      (e) => e.state === "pending" && e.userCode === wanted && now() < e.expiresAt,
    );
  }

  /** `POST /_emulator/device-codes/approve {"userCode","userObjectId"}`: the sign-in a person would do at the verification page. */
  async function approveRoute(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const parsed = approveSchema.safeParse(jsonOrUndefined(await readText(req, 4096)));
    if (!parsed.success)
      return sendJson(res, 400, { error: { code: "BadRequest", message: "Invalid approval." } });
    const entry = pendingByUserCode(parsed.data.userCode);
    if (entry === undefined || !users.has(parsed.data.userObjectId)) {
      return sendJson(res, 404, {
        error: { code: "NotFound", message: "No pending code for that user code and user." },
      });
    }
    entry.state = "approved";
    entry.userObjectId = parsed.data.userObjectId;
    res.writeHead(204).end();
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", base).pathname;
    if (req.method === "POST" && path === "/_emulator/device-codes/approve") return approveRoute(req, res);
    if (await serveControl(req, res, path, { stats: () => stats, faults, faultSchema: plainFaultSchema }))
      return;
    const fault = faults.take();
    if (fault !== undefined)
      return aadError(res, fault.status, "temporarily_unavailable", 50196, "Injected fault.");
    const t = `/${tenantId}`;
    if (req.method === "GET") {
      if (path === `${t}/v2.0/.well-known/openid-configuration`) return sendJson(res, 200, discoveryV2());
      if (path === `${t}/.well-known/openid-configuration`) return sendJson(res, 200, discoveryV1());
      if ([`${t}/discovery/v2.0/keys`, `${t}/discovery/keys`, "/common/discovery/keys"].includes(path)) {
        return sendJson(res, 200, signer.jwks());
      }
    }
    if (req.method === "POST" && path === `${t}/oauth2/v2.0/token`) return token(req, res, true);
    if (req.method === "POST" && path === `${t}/oauth2/v2.0/devicecode`) return deviceCode(req, res);
    if (req.method === "POST" && path === `${t}/oauth2/token`) return token(req, res, false);
    if (/^\/[^/]+\/(v2\.0\/)?\.well-known\/openid-configuration$/.test(path) || /\/oauth2\//.test(path)) {
      return aadError(res, 400, "invalid_tenant", 90002, "Tenant not found.");
    }
    sendJson(res, 404, { error: "not_found" });
  }

  const server = https.createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    route(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: "server_error" });
    });
  });
  const listening = await listen(server, host, options.port ?? 0);
  base = `https://${host}:${listening.port}`;
  return {
    url: base,
    issuerV1,
    issuerV2: issuerV2(),
    tokenEndpoint: `${base}/${tenantId}/oauth2/v2.0/token`,
    addClient: (client) => clients.set(client.clientId, client),
    addClientSecret: (clientId, secret) => {
      const list = (clientSecrets.get(clientId) ?? []).filter((s) => s.keyId !== secret.keyId);
      clientSecrets.set(clientId, [...list, { ...secret }]);
    },
    removeClientSecret: (clientId, keyId) => {
      clientSecrets.set(
        clientId,
        (clientSecrets.get(clientId) ?? []).filter((s) => s.keyId !== keyId),
      );
    },
    mintRefreshToken: (userObjectId, clientId, scope) => {
      const client = delegatedClient(clientId);
      if (!users.has(userObjectId) || client === undefined) {
        throw new Error("mintRefreshToken: unknown user or client");
      }
      return newRefreshToken({ userObjectId, clientId, clientType: client.type, scope });
    },
    approveDeviceCode: (userCode, userObjectId) => {
      const entry = pendingByUserCode(userCode);
      if (entry === undefined || !users.has(userObjectId)) return false;
      entry.state = "approved";
      entry.userObjectId = userObjectId;
      return true;
    },
    declineDeviceCode: (userCode) => {
      const entry = pendingByUserCode(userCode);
      if (entry === undefined) return false;
      entry.state = "declined";
      return true;
    },
    pendingUserCodes: () =>
      [...deviceCodes.values()].filter((e) => e.state === "pending").map((e) => e.userCode),
    revokeRefreshTokens: (userObjectId) => {
      refreshValidFrom.set(userObjectId, serial + 1);
    },
    stats: () => ({ tokenRequests: stats.tokenRequests, byGrant: { ...stats.byGrant } }),
    resetStats: () => {
      stats = { tokenRequests: 0, byGrant: {} };
    },
    clearFaults: () => faults.clear(),
    close: listening.close,
  };
}
