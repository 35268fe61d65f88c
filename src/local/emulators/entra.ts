import { createHash, randomBytes, randomUUID } from "node:crypto";
import https from "node:https";
import type http from "node:http";
import type { DevCertificate } from "../dev-certificate.js";
import { FaultQueue, listen, readText, sendJson, plainFaultSchema, serveControl } from "./emulator-http.js";
import { rolesClaim, type ResourceRoles } from "./app-roles.js";
import type { DevSigner } from "./signer.js";

/**
 * An Entra-like tenant on loopback HTTPS: OIDC discovery (v1 and v2), JWKS, the
 * client-credentials grant and the refresh-token grant (user-delegated tokens for public
 * clients) on the v2 and v1 token endpoints. Enough for `curl` and for @azure/identity's
 * ClientSecretCredential (authorityHost = this URL, instance discovery off).
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

/** One of an app's client secrets, as Graph's addPassword creates them. */
export interface EntraClientSecret {
  keyId: string;
  secret: string;
  /** Epoch ms from which Entra accepts it: a new secret takes a while to propagate. */
  usableFrom?: number;
  /** Epoch ms after which it is refused (the password credential's endDateTime). */
  expiresOn?: number;
}

export type EntraGrant = "client_credentials" | "refresh_token";

export interface EntraEmulatorOptions {
  tls: DevCertificate;
  signer: DevSigner;
  tenantId: string;
  brokerApp: { appIdUri: string; clientId: string };
  clients: readonly EntraClient[];
  users?: readonly EntraUser[];
  publicClients?: readonly EntraPublicClient[];
  /** Inactivity lifetime of a refresh token (Entra: 90 days). */
  refreshTokenLifetimeMs?: number;
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
/** Delegated permission granted for a `{resource}/.default` request (what the user consented to). */
const DELEGATED_SCOPE = "user_impersonation";

interface RefreshGrant {
  userObjectId: string;
  clientId: string;
  scope: string;
  /** Issue order: revocation compares it, since several tokens can share a millisecond. */
  serial: number;
  expiresAt: number;
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
  const refreshLifetime = options.refreshTokenLifetimeMs ?? REFRESH_TOKEN_LIFETIME_MS;
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
    grant_types_supported: ["client_credentials", "refresh_token"],
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
    const grant = form.get("grant_type");
    if (grant === "client_credentials" || grant === "refresh_token") {
      stats.tokenRequests += 1;
      stats.byGrant[grant] = (stats.byGrant[grant] ?? 0) + 1;
    }
    if (grant === "refresh_token") return refresh(form, res, v2);
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
      return aadError(
        res,
        401,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
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
    const t = now();
    return (clientSecrets.get(client.clientId) ?? []).some(
      (s) =>
        s.secret === secret &&
        (s.usableFrom === undefined || t >= s.usableFrom) &&
        (s.expiresOn ?? Infinity) > t,
    );
  }

  function newRefreshToken(grant: Omit<RefreshGrant, "serial" | "expiresAt">): string {
    // Opaque, like Entra's (which are encrypted blobs starting "0.A"); only this emulator reads them.
    const value = `0.A${randomBytes(160).toString("base64url")}`;
    serial += 1;
    refreshGrants.set(value, { ...grant, serial, expiresAt: now() + refreshLifetime });
    return value;
  }

  /** The resource of a delegated request: v2 `{resource}/.default` among OIDC scopes, v1 `resource`. */
  function delegatedResource(form: URLSearchParams, v2: boolean): string | undefined {
    if (!v2) return form.get("resource") ?? undefined;
    const scopes = (form.get("scope") ?? "").split(" ").filter((x) => x !== "");
    const defaults = scopes.filter((x) => /^\S+\/\.default$/.test(x));
    const others = scopes.filter((x) => !["openid", "profile", "email", "offline_access"].includes(x));
    if (defaults.length !== 1 || others.length !== 1) return undefined;
    return defaults[0]?.slice(0, -"/.default".length);
  }

  async function refresh(form: URLSearchParams, res: http.ServerResponse, v2: boolean): Promise<void> {
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
    const client = publicClients.get(clientId);
    if (client === undefined) {
      // Confidential clients would need their secret too; the broker only uses a public client.
      return aadError(res, 400, "unauthorized_client", 700016, "Application was not found in the directory.");
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
    const iat = Math.floor(now() / 1000);
    const claims = {
      aud: resource,
      iss: issuerV1,
      iat,
      nbf: iat,
      exp: iat + TOKEN_LIFETIME_SECONDS,
      acr: "1",
      amr: ["pwd", "mfa"],
      appid: client.clientId,
      appidacr: "0",
      idp: issuerV1,
      name: user.displayName,
      oid: user.objectId,
      scp: DELEGATED_SCOPE,
      // Pairwise per app, as Entra makes it: stable for one user and one client.
      sub: createHash("sha256")
        .update(`${user.objectId}:${client.clientId}`)
        .digest("base64url")
        .slice(0, 43),
      tid: tenantId,
      unique_name: user.userPrincipalName,
      upn: user.userPrincipalName,
      uti: randomUUID().replace(/-/g, "").slice(0, 22),
      ver: "1.0",
    };
    // A new refresh token every time; the presented one keeps working until it expires (Entra).
    const rotated = newRefreshToken({ userObjectId: user.objectId, clientId, scope: grant.scope });
    sendJson(res, 200, {
      token_type: "Bearer",
      scope: `${resource}/${DELEGATED_SCOPE}`,
      expires_in: TOKEN_LIFETIME_SECONDS,
      ext_expires_in: TOKEN_LIFETIME_SECONDS,
      ...(v2 ? {} : { expires_on: String(iat + TOKEN_LIFETIME_SECONDS), resource }),
      access_token: await signer.sign(claims),
      refresh_token: rotated,
    });
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", base).pathname;
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
      if (!users.has(userObjectId) || !publicClients.has(clientId)) {
        throw new Error("mintRefreshToken: unknown user or public client");
      }
      return newRefreshToken({ userObjectId, clientId, scope });
    },
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
