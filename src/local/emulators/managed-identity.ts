import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import { FaultQueue, listen, sendJson, plainFaultSchema, serveControl } from "./emulator-http.js";
import { rolesClaim, type ResourceRoles } from "./app-roles.js";
import type { DevSigner } from "./signer.js";

/**
 * The App Service / Functions managed-identity endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER,
 * api-version 2019-08-01) on loopback HTTP, as ManagedIdentityCredential calls it. Tokens are
 * v1 app-only tokens of the emulated tenant, signed by the dev signer.
 */

export interface ManagedIdentity {
  clientId: string;
  objectId: string;
  /**
   * App roles granted to the identity on other resources, by resource URI (e.g. Graph's
   * `Application.ReadWrite.OwnedBy`): Entra puts them in the `roles` claim of tokens for that resource.
   */
  resourceRoles?: ResourceRoles;
}

export interface ManagedIdentityEmulatorOptions {
  signer: DevSigner;
  tenantId: string;
  systemAssigned: ManagedIdentity;
  userAssigned: readonly ManagedIdentity[];
  host?: string;
  port?: number;
  now?: () => number;
  lifetimeSeconds?: number;
}

export interface ManagedIdentityEmulator {
  /** IDENTITY_ENDPOINT */
  endpoint: string;
  /** IDENTITY_HEADER: a per-start secret the caller must echo (SSRF protection, as in App Service). */
  header: string;
  stats: () => { tokenRequests: number };
  /** Drops every injected fault not yet served. */
  clearFaults: () => void;
  close: () => Promise<void>;
}

export async function startManagedIdentityEmulator(
  options: ManagedIdentityEmulatorOptions,
): Promise<ManagedIdentityEmulator> {
  const now = options.now ?? Date.now;
  const lifetime = options.lifetimeSeconds ?? 24 * 3600;
  const header = randomBytes(24).toString("base64url");
  const host = options.host ?? "127.0.0.1";
  const identities = [options.systemAssigned, ...options.userAssigned];
  const faults = new FaultQueue();
  let tokenRequests = 0;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const control = { stats: () => ({ tokenRequests }), faults, faultSchema: plainFaultSchema };
    if (await serveControl(req, res, url.pathname, control)) return;
    if (url.pathname !== "/msi/token" || req.method !== "GET") {
      return sendJson(res, 404, { error: "not_found", message: "Not found" });
    }
    tokenRequests += 1;
    if (req.headers["x-identity-header"] !== header) {
      return sendJson(res, 401, {
        statusCode: 401,
        message: "Unauthorized: missing or wrong X-IDENTITY-HEADER",
      });
    }
    const fault = faults.take();
    if (fault !== undefined) {
      return sendJson(res, fault.status, { statusCode: fault.status, message: "Injected fault" });
    }
    const q = url.searchParams;
    if (q.get("api-version") !== "2019-08-01") {
      return sendJson(res, 400, { statusCode: 400, message: "Unsupported api-version" });
    }
    const resource = q.get("resource");
    if (resource === null || resource === "") {
      return sendJson(res, 400, { statusCode: 400, message: "resource is required" });
    }
    const clientId = q.get("client_id");
    const objectId = q.get("object_id") ?? q.get("principal_id");
    const identity =
      clientId !== null
        ? identities.find((i) => i.clientId === clientId)
        : objectId !== null
          ? identities.find((i) => i.objectId === objectId)
          : options.systemAssigned;
    if (identity === undefined) {
      return sendJson(res, 400, {
        statusCode: 400,
        message: "No managed identity found for the given client_id.",
      });
    }
    const iat = Math.floor(now() / 1000);
    const exp = iat + lifetime;
    const accessToken = await options.signer.sign({
      aud: resource,
      iss: `https://sts.windows.net/${options.tenantId}/`,
      iat,
      nbf: iat,
      exp,
      appid: identity.clientId,
      appidacr: "2",
      idp: `https://sts.windows.net/${options.tenantId}/`,
      idtyp: "app",
      oid: identity.objectId,
      ...rolesClaim(identity.resourceRoles, resource),
      sub: identity.objectId,
      tid: options.tenantId,
      uti: randomUUID().replace(/-/g, "").slice(0, 22),
      ver: "1.0",
      xms_mirid: `/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/dev/providers/Microsoft.ManagedIdentity/${identity.clientId}`,
    });
    sendJson(res, 200, {
      access_token: accessToken,
      expires_on: String(exp),
      resource,
      token_type: "Bearer",
      client_id: identity.clientId,
    });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { statusCode: 500, message: "Internal error" });
    });
  });
  const listening = await listen(server, host, options.port ?? 0);
  return {
    endpoint: `http://${host}:${listening.port}/msi/token`,
    header,
    stats: () => ({ tokenRequests }),
    clearFaults: () => faults.clear(),
    close: listening.close,
  };
}
