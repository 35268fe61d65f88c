import { z } from "zod";

/**
 * The answer of `GET /api/whoami`: the caller as the broker sees it, identifiers and what the
 * policy grants, never the token. The handler's answer has this type and the CLI parses with
 * it; loose, so a newer broker may add fields.
 */
export const whoamiWire = z.looseObject({
  issuer: z.string(),
  /** `entra`: the broker's own tenant (app roles from the token); `trusted`: another issuer. */
  issuerKind: z.enum(["entra", "trusted"]),
  subject: z.string(),
  /** The client app (`appid`, else `azp`); null when the issuer names none. */
  clientId: z.string().nullable(),
  tenantId: z.string().nullable(),
  objectId: z.string().nullable(),
  /** App roles the broker grants this caller (token roles, grant roles and what they imply). */
  roles: z.array(z.string()),
  /** Profiles the policy grants this caller, sorted. */
  profiles: z.array(z.string()),
  /** When the broker stops accepting this caller's token. */
  expiresOn: z.string(),
});
export type WhoamiWire = z.infer<typeof whoamiWire>;
