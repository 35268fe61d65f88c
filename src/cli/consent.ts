import type { NetworkResponse } from "@azure/msal-node";
import { z } from "zod";
import { AZURE_DEVOPS_SCOPE } from "../devops/pat-lifecycle-client.js";
import { isLoopbackUrl } from "../net/loopback.js";
import { httpSender, type HttpSend } from "../net/http-request.js";
import { CliError, oneLine } from "./errors.js";

/**
 * The one-time consent of the PAT rotator's user: the OAuth 2.0 device-code flow through
 * msal-node's PublicClientApplication, for Azure DevOps' delegated scope with offline_access.
 * The refresh token is taken from MSAL's serialized token cache (MSAL keeps it there and hands
 * out only access tokens) and goes nowhere but back to the caller, to be stored in the vault.
 */

/** Azure DevOps' delegated permission: what the rotator's user consents to. */
export const DEVOPS_USER_IMPERSONATION = AZURE_DEVOPS_SCOPE.replace(/\/\.default$/, "/user_impersonation");

export interface ConsentOptions {
  /** e.g. https://login.microsoftonline.com (AZURE_AUTHORITY_HOST). */
  authorityHost: string;
  tenantId: string;
  clientId: string;
  /** A confidential (web) client's secret: sent on the device-code redemption only. */
  clientSecret?: string;
  /** Shown to the person: the verification URL and the user code, nothing else. */
  showMessage: (message: string) => void;
  send?: HttpSend;
  /** Gives up waiting for the person after this long (default: the device code's own lifetime). */
  timeoutSeconds?: number;
}

export interface Consented {
  refreshToken: string;
  /** When the token request that returned the refresh token was sent: its 90 days start no later. */
  redeemedAt: Date;
  /** The signed-in user, for the report (never a secret). */
  username: string | undefined;
}

/** msal-common sends the short form (`Constants.GrantType.DEVICE_CODE_GRANT`); RFC 8628 names the URN. */
const DEVICE_CODE_GRANTS = ["device_code", "urn:ietf:params:oauth:grant-type:device_code"];

/** The part of MSAL's cache schema (msal-node Serializer: `RefreshToken` entries) read here. */
const cacheSchema = z.looseObject({
  RefreshToken: z.record(
    z.string(),
    z.looseObject({
      home_account_id: z.string(),
      client_id: z.string(),
      credential_type: z.string(),
      secret: z.string().min(1),
    }),
  ),
});

export async function consentByDeviceCode(options: ConsentOptions): Promise<Consented> {
  const { PublicClientApplication, AuthError } = await import("@azure/msal-node");
  // An operator's own tool pointed by the operator: a loopback authority (the dev stack) is allowed.
  const send =
    options.send ?? httpSender({ timeoutMs: 30_000, devStack: isLoopbackUrl(options.authorityHost) });
  const authorityUrl = new URL(options.authorityHost);
  let tokenRequestAt = Date.now();
  const secret = options.clientSecret;
  const app = new PublicClientApplication({
    auth: {
      clientId: options.clientId,
      authority: `${authorityUrl.origin}/${options.tenantId}`,
      // A known authority skips instance discovery (a call to login.microsoftonline.com that a
      // sovereign cloud or the dev stack's emulator would not answer); the OIDC metadata still comes
      // from the authority itself.
      knownAuthorities: [authorityUrl.host],
    },
    system: {
      // No MSAL log lines at all: they would be ours to keep free of secrets.
      loggerOptions: { loggerCallback: () => undefined, piiLoggingEnabled: false },
      networkClient: {
        sendGetRequestAsync: <T>(url: string, request?: { headers?: Record<string, string> }) =>
          exchange(send, "GET", url, request?.headers) as Promise<NetworkResponse<T>>,
        sendPostRequestAsync: <T>(
          url: string,
          request?: { headers?: Record<string, string>; body?: string },
        ) => {
          let body = request?.body ?? "";
          const form = new URLSearchParams(body);
          if (DEVICE_CODE_GRANTS.includes(form.get("grant_type") ?? "")) {
            tokenRequestAt = Date.now();
            // msal-node's PublicClientApplication sends no client secret (DeviceCodeClient builds the
            // body without one); a confidential client must send it, so it is added here, on the
            // device-code redemption only.
            if (secret !== undefined) {
              form.set("client_secret", secret);
              body = form.toString();
            }
          }
          return exchange(send, "POST", url, request?.headers, body) as Promise<NetworkResponse<T>>;
        },
      },
    },
  });
  let result;
  try {
    result = await app.acquireTokenByDeviceCode({
      scopes: [DEVOPS_USER_IMPERSONATION, "offline_access"],
      deviceCodeCallback: (response) => options.showMessage(response.message),
      ...(options.timeoutSeconds !== undefined ? { timeout: options.timeoutSeconds } : {}),
    });
  } catch (error) {
    throw new CliError(`consent failed: ${authErrorText(error, AuthError, secret)}`);
  }
  if (result === null) throw new CliError("consent failed: Entra answered no token");
  const cache = cacheSchema.safeParse(JSON.parse(app.getTokenCache().serialize()));
  const homeAccountId = result.account?.homeAccountId;
  const tokens = cache.success
    ? Object.values(cache.data.RefreshToken).filter(
        (t) =>
          t.credential_type === "RefreshToken" &&
          t.client_id.toLowerCase() === options.clientId.toLowerCase() &&
          (homeAccountId === undefined || t.home_account_id === homeAccountId),
      )
    : [];
  const token = tokens[0];
  if (tokens.length !== 1 || token === undefined) {
    throw new CliError(
      "consent failed: Entra gave no refresh token (is offline_access allowed for this client?)",
    );
  }
  return {
    refreshToken: token.secret,
    redeemedAt: new Date(tokenRequestAt),
    username: result.account?.username,
  };
}

/** One MSAL request over the project's transport; MSAL reads the JSON body itself. */
async function exchange(
  send: HttpSend,
  method: "GET" | "POST",
  url: string,
  headers: Record<string, string> | undefined,
  body?: string,
): Promise<NetworkResponse<unknown>> {
  const res = await send({
    method,
    url,
    ...(headers ? { headers } : {}),
    ...(body !== undefined ? { body } : {}),
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    throw new CliError(`the authority answered ${res.status} with a body that is not JSON`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = v;
  return { headers: out, body: parsed, status: res.status };
}

/**
 * MSAL's error as one line: its code and what Entra said (AADSTS…, e.g. a confidential client
 * without its secret). Entra never echoes a token or secret,
 * and the secret is blanked anyway should anything ever quote it.
 */
function authErrorText(
  error: unknown,
  AuthError: abstract new (...args: never[]) => { errorCode: string; errorMessage: string },
  secret: string | undefined,
): string {
  if (error instanceof CliError) return error.message;
  let text: string;
  if (error instanceof AuthError) {
    // Entra's descriptions end in trace and correlation ids: noise on a terminal.
    const detail = error.errorMessage.split(/\s*Trace ID:/)[0] ?? "";
    text = `${error.errorCode}${detail !== "" ? `: ${detail}` : ""}`;
  } else {
    text = error instanceof Error ? error.name : "unknown error";
  }
  if (secret !== undefined && secret !== "") text = text.split(secret).join("***");
  return oneLine(text, 300);
}
