import { randomBytes } from "node:crypto";
import type http from "node:http";
import type { ClientAuthenticated, GrantContext } from "./entra-grants.js";
import { randomUserCode } from "./entra-state.js";
import { aadError, missingClientCredential, resourceOf } from "./entra-wire.js";
import { readText, sendJson } from "./emulator-http.js";

/** The Entra emulator's device-code flow: the devicecode endpoint and the token endpoint's device-code grant. */

export function entraDeviceCode(ctx: GrantContext, clientAuthenticated: ClientAuthenticated) {
  const { options, now, state, wire } = ctx;
  const { users, deviceCodes, newRefreshToken, delegatedClient } = state;
  const { delegatedTokens } = wire;
  const deviceInterval = options.deviceCodeIntervalSeconds ?? 5;
  const deviceLifetime = options.deviceCodeLifetimeSeconds ?? 900;

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
    const verificationUri = `${ctx.base()}/devicelogin`;
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

  return { deviceCode, deviceToken };
}
