import { z } from "zod";
import { httpSender } from "./http-request.js";

/** The token endpoint refused or failed; the message names the status and OAuth error code only. */
export class ClientCredentialsError extends Error {
  override name = "ClientCredentialsError";
}

export interface ClientCredentialsRequest {
  tokenEndpoint: string;
  clientId: string;
  secret: string;
  scope: string;
  /** The CA (PEM) of a self-signed token endpoint: the dev stack's emulators. */
  extraCa?: string;
  /** Loopback token endpoints (the dev stack's Entra emulator) allowed. */
  devStack?: boolean;
}

const tokenAnswer = z.looseObject({ access_token: z.string().min(1), expires_in: z.number().optional() });
const errorAnswer = z.looseObject({ error: z.string().max(100) });

/** An access token by the OAuth client-credentials grant (a form POST, as curl would send it). */
export async function clientCredentialsToken(request: ClientCredentialsRequest): Promise<string> {
  const send = httpSender({
    timeoutMs: 10_000,
    ...(request.extraCa !== undefined ? { extraCa: request.extraCa } : {}),
    ...(request.devStack !== undefined ? { devStack: request.devStack } : {}),
  });
  const res = await send({
    method: "POST",
    url: request.tokenEndpoint,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: request.clientId,
      client_secret: request.secret,
      scope: request.scope,
    }).toString(),
  });
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    body = undefined;
  }
  const ok = tokenAnswer.safeParse(body);
  if (res.status === 200 && ok.success) return ok.data.access_token;
  const error = errorAnswer.safeParse(body);
  throw new ClientCredentialsError(
    `the token endpoint answered ${res.status}${error.success ? ` ${error.data.error}` : ""}`,
  );
}
