import { z } from "zod";
import { jsonOrUndefined } from "../net/json-text.js";
import { httpSender, type HttpSend } from "../net/http-request.js";
import { DevOpsError } from "./devops-error.js";
import { devOpsFailure } from "./pat-lifecycle-client.js";
import { patAuthorization } from "./pat-format.js";

/**
 * Proves a PAT works for an organization with one authenticated call
 * (`GET {base}/{org}/_apis/connectionData`), the rotator's "verify before promote".
 */

export const DEFAULT_DEVOPS_URL = "https://dev.azure.com";

export interface PatCheckOptions {
  /** `https://dev.azure.com` unless pointed elsewhere (the dev stack's emulator). */
  baseUrl?: string;
  send?: HttpSend;
}

export type PatCheck = { valid: true; userId: string } | { valid: false };

const ORGANIZATION = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$/;
const connectionData = z.object({
  authenticatedUser: z.object({ id: z.string().regex(/^[0-9a-f-]{36}$/i) }),
});

/**
 * `{valid: true}` when Azure DevOps accepts the PAT for `organization`, `{valid: false}` when it
 * refuses it (401/403/203); throws DevOpsError when it cannot tell (throttled, down, odd answer).
 */
export async function checkPat(
  organization: string,
  pat: string,
  options: PatCheckOptions = {},
): Promise<PatCheck> {
  if (!ORGANIZATION.test(organization))
    throw new RangeError("organization must be an Azure DevOps organization name");
  const base = (options.baseUrl ?? DEFAULT_DEVOPS_URL).replace(/\/+$/, "");
  const send = options.send ?? httpSender();
  let res;
  try {
    res = await send({
      method: "GET",
      url: `${base}/${organization}/_apis/connectionData`,
      headers: { authorization: patAuthorization(pat) },
    });
  } catch {
    throw new DevOpsError("connectionData", { kind: "unavailable", retryAfterSeconds: undefined });
  }
  if (res.status === 401 || res.status === 403 || res.status === 203) return { valid: false };
  if (res.status !== 200) throw devOpsFailure("connectionData", res);
  const parsed = connectionData.safeParse(jsonOrUndefined(res.body));
  if (!parsed.success) throw new DevOpsError("connectionData", { kind: "malformed", status: res.status });
  return { valid: true, userId: parsed.data.authenticatedUser.id };
}
