import { createHash, randomUUID } from "node:crypto";
import type http from "node:http";
import { sendJson } from "./emulator-http.js";
import type { DelegatedClientType, EntraUser } from "./entra.js";
import type { DevSigner } from "./signer.js";

/** What the Entra emulator answers: AADSTS errors, discovery documents and delegated token sets. */

export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
export const TOKEN_LIFETIME_SECONDS = 3599;
const OIDC_SCOPES = ["openid", "profile", "email", "offline_access"];
/** Delegated permission granted for a `{resource}/.default` request (what the user consented to). */
const DELEGATED_SCOPE = "user_impersonation";

/**
 * The resource of delegated scopes: exactly one `{resource}/.default` or `{resource}/user_impersonation`
 * (what the emulated users consented to) among the OIDC scopes.
 */
export function resourceOf(scopes: readonly string[]): string | undefined {
  const others = scopes.filter((x) => !OIDC_SCOPES.includes(x));
  const match = others.length === 1 ? /^(\S+)\/(\.default|user_impersonation)$/.exec(others[0] ?? "") : null;
  return match?.[1];
}

/** AADSTS7000218: a confidential client (or an SPA on the device flow) sent no credential. */
export function missingClientCredential(res: http.ServerResponse): void {
  aadError(
    res,
    401,
    "invalid_client",
    7000218,
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  );
}

export function aadError(
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

/** The client of a token request: HTTP Basic credentials, else client_id and client_secret in the form. */
export function clientFrom(
  req: http.IncomingMessage,
  form: URLSearchParams,
): { id?: string; secret?: string } {
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

export function createEntraWire(options: {
  signer: DevSigner;
  tenantId: string;
  now: () => number;
  base: () => string;
}) {
  const { signer, tenantId, now } = options;
  const issuerV1 = `https://sts.windows.net/${tenantId}/`;
  const issuerV2 = () => `${options.base()}/${tenantId}/v2.0`;

  const discoveryV2 = () => ({
    issuer: issuerV2(),
    authorization_endpoint: `${options.base()}/${tenantId}/oauth2/v2.0/authorize`,
    token_endpoint: `${options.base()}/${tenantId}/oauth2/v2.0/token`,
    end_session_endpoint: `${options.base()}/${tenantId}/oauth2/v2.0/logout`,
    jwks_uri: `${options.base()}/${tenantId}/discovery/v2.0/keys`,
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    device_authorization_endpoint: `${options.base()}/${tenantId}/oauth2/v2.0/devicecode`,
    grant_types_supported: ["client_credentials", "refresh_token", DEVICE_CODE_GRANT],
    tenant_region_scope: "EU",
  });
  const discoveryV1 = () => ({
    issuer: issuerV1,
    authorization_endpoint: `${options.base()}/${tenantId}/oauth2/authorize`,
    token_endpoint: `${options.base()}/${tenantId}/oauth2/token`,
    jwks_uri: `${options.base()}/common/discovery/keys`,
    response_types_supported: ["code", "id_token", "code id_token", "token id_token", "token"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
  });

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

  return { issuerV1, issuerV2, discoveryV1, discoveryV2, delegatedTokens };
}

export type EntraWire = ReturnType<typeof createEntraWire>;
