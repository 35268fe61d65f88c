import { randomUUID } from "node:crypto";
import https from "node:https";
import type http from "node:http";
import type { DevCertificate } from "../dev-certificate.js";
import { FaultQueue, listen, readText, sendJson } from "./emulator-http.js";
import type { DevSigner } from "./signer.js";

/**
 * An Entra-like tenant on loopback HTTPS: OIDC discovery (v1 and v2), JWKS, and the
 * client-credentials grant on the v2 and v1 token endpoints. Enough for `curl` and for
 * @azure/identity's ClientSecretCredential (authorityHost = this URL, instance discovery off).
 */

export interface EntraClient {
  clientId: string;
  objectId: string;
  secret: string;
  /** App roles assigned on the broker's API. */
  brokerRoles: readonly string[];
}

export interface EntraEmulatorOptions {
  tls: DevCertificate;
  signer: DevSigner;
  tenantId: string;
  brokerApp: { appIdUri: string; clientId: string };
  clients: readonly EntraClient[];
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
  close: () => Promise<void>;
}

const TOKEN_LIFETIME_SECONDS = 3599;

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
  const faults = new FaultQueue();
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
    grant_types_supported: ["client_credentials"],
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
    if (form.get("grant_type") !== "client_credentials") {
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
    if (secret !== client.secret) {
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
    const roles = forBroker ? client.brokerRoles : [];
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

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", base).pathname;
    if (path === "/_emulator/faults" && req.method === "POST") {
      const body = JSON.parse((await readText(req)) ?? "{}") as { status?: unknown; count?: unknown };
      if (typeof body.status !== "number" || typeof body.count !== "number") return sendJson(res, 400, {});
      faults.add({ status: body.status, count: body.count });
      return sendJson(res, 204, {});
    }
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
    close: listening.close,
  };
}
