import { z } from "zod";

/** A verified caller. Only claims that passed signature and claim checks end up here. */
export interface Principal {
  issuer: string;
  issuerKind: "entra" | "trusted";
  subject: string;
  /** Verified claims, for grant matching and the audit trail. */
  claims: Readonly<Record<string, unknown>>;
  /** Unix ms after which this principal must not be used. */
  expiresAt: number;
}

const numericDate = z.number();
const shortString = z.string().max(1024);

/**
 * The claims the broker relies on, with their types. jose has checked signature, iss, aud, exp
 * and nbf; this schema makes sure the values we read later are what we think they are.
 */
export const claimsSchema = z.looseObject({
  iss: shortString,
  sub: shortString.min(1),
  aud: z.union([shortString, z.array(shortString)]),
  exp: numericDate,
  nbf: numericDate.optional(),
  iat: numericDate.optional(),
  tid: shortString.optional(),
  oid: shortString.optional(),
  appid: shortString.optional(),
  azp: shortString.optional(),
  roles: z.array(shortString).max(200).optional(),
});
export type VerifiedClaims = z.infer<typeof claimsSchema>;

/** v2 tokens name the client in `azp`, v1 in `appid`: grants say `appid` for both. */
export function normaliseEntraClaims<T extends Readonly<Record<string, unknown>>>(claims: T): T {
  return claims["appid"] === undefined ? { ...claims, appid: claims["azp"] } : claims;
}

/** App roles: only the broker's own Entra tenant can assert them in the token. */
export function tokenRoles(principal: Principal): readonly string[] {
  if (principal.issuerKind !== "entra") return [];
  const roles = principal.claims["roles"];
  return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === "string") : [];
}

/** What the audit trail records of a caller: identifiers, never the token. */
export function auditIdentity(principal: Principal): Record<string, string> {
  const out: Record<string, string> = { iss: principal.issuer, sub: principal.subject };
  for (const claim of ["oid", "appid", "azp", "tid"]) {
    const value = principal.claims[claim];
    if (typeof value === "string") out[claim] = value;
  }
  return out;
}
