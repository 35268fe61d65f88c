import { isLoopbackUrl } from "../net/loopback.js";

/**
 * When the broker refuses the caller token (401 invalid_token) and the token says it has expired,
 * the one-line error says how to get a new one. The claims are read without checking the
 * signature: they only choose the hint, nothing is trusted or printed of them but the time.
 */

function claimsOf(token: string): Record<string, unknown> | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    return typeof claims === "object" && claims !== null ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The dev app whose token this looks like, by its app roles (as the dev stack assigns them). */
function persona(claims: Record<string, unknown>): string {
  const roles = Array.isArray(claims["roles"]) ? (claims["roles"] as unknown[]) : [];
  if (roles.includes("Secrets.Admin")) return "admin";
  if (roles.includes("Inventory.Read")) return "ops";
  return "caller";
}

/** The message for an expired token, or undefined when the token has not expired (or has no `exp`). */
export function expiredTokenMessage(token: string, broker: URL, now = Date.now()): string | undefined {
  const claims = claimsOf(token);
  const exp = claims?.["exp"];
  if (claims === undefined || typeof exp !== "number" || exp * 1000 > now) return undefined;
  const when = new Date(exp * 1000).toISOString().replace(/\.000Z$/, "Z");
  const renew = isLoopbackUrl(broker)
    ? `eval "$(token-broker dev-token --as ${persona(claims)})" gets a new one from the dev stack`
    : "sign in again (az login) or set a fresh TOKEN_BROKER_TOKEN";
  return `the caller token expired at ${when} (401 invalid_token): ${renew}`;
}
