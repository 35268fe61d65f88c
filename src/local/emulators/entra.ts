import https from "node:https";
import type http from "node:http";
import type { DevCertificate } from "../dev-certificate.js";
import { z } from "zod";
import { jsonOrUndefined } from "../../net/json-text.js";
import { FaultQueue, listen, readText, sendJson, plainFaultSchema, serveControl } from "./emulator-http.js";
import type { ResourceRoles } from "./app-roles.js";
import { entraGrants } from "./entra-grants.js";
import { createEntraState } from "./entra-state.js";
import { aadError, createEntraWire } from "./entra-wire.js";
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

export { DEVICE_CODE_GRANT } from "./entra-wire.js";

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

const approveSchema = z.strictObject({
  userCode: z.string().min(1).max(20),
  userObjectId: z.string().min(1).max(100),
});

export async function startEntraEmulator(options: EntraEmulatorOptions): Promise<EntraEmulator> {
  const { signer, tenantId } = options;
  const now = options.now ?? Date.now;
  const host = options.host ?? "127.0.0.1";
  const faults = new FaultQueue();
  let base = "";
  const state = createEntraState(options, now);
  const { clients, clientSecrets, users, deviceCodes, newRefreshToken, delegatedClient, pendingByUserCode } =
    state;
  const wire = createEntraWire({ signer, tenantId, now, base: () => base });
  const { issuerV1, issuerV2, discoveryV1, discoveryV2 } = wire;
  const { token, deviceCode } = entraGrants({ options, now, state, wire, base: () => base });

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
    if (await serveControl(req, res, path, { stats: state.stats, faults, faultSchema: plainFaultSchema }))
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
    revokeRefreshTokens: state.revokeRefreshTokens,
    stats: () => {
      const stats = state.stats();
      return { tokenRequests: stats.tokenRequests, byGrant: { ...stats.byGrant } };
    },
    resetStats: state.resetStats,
    clearFaults: () => faults.clear(),
    close: listening.close,
  };
}
