import { z } from "zod";
import { organizationName } from "../inventory/import-request.js";
import { KINDS, STATUSES } from "../inventory/managed-credential.js";
import { explainClaims, issuerKindWire } from "../wire/policy-explain.js";

/**
 * The query and body schemas the registration table declares (and the pipeline parses with):
 * zod and constants only, so registering the functions at cold start loads no handler code.
 */

export const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt";
export const TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";

const profileName = z.string().min(1).max(128);

export const tokenJsonRequest = z.strictObject({ profile: profileName });

/**
 * `POST /api/policy/explain`: a profile, and whose claims (none: the caller's own; or claims, or a
 * token decoded but never trusted beyond its claims), and how to take them (`issuer`).
 */
export const policyExplainRequest = z
  .strictObject({
    profile: profileName,
    claims: explainClaims.optional(),
    // MAX_TOKEN_LENGTH of src/auth/authenticator.ts (not imported: cold start loads this module).
    token: z
      .string()
      .min(1)
      .max(16 * 1024)
      .optional(),
    issuer: issuerKindWire.optional(),
  })
  .refine((b) => b.claims === undefined || b.token === undefined, {
    message: "send claims or a token, not both",
    path: ["token"],
  })
  .refine((b) => b.issuer === undefined || b.claims !== undefined || b.token !== undefined, {
    message: "says how to take the claims or token sent: without them, the caller's own are explained",
    path: ["issuer"],
  });

export const exchangeRequest = z.strictObject({
  grant_type: z.literal(TOKEN_EXCHANGE),
  subject_token: z.string().min(1),
  subject_token_type: z.enum([TYPE_JWT, TYPE_ACCESS_TOKEN]),
  audience: profileName,
  requested_token_type: z.literal(TYPE_ACCESS_TOKEN).optional(),
});

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const listQuery = z
  .strictObject({
    kind: z.enum(KINDS).optional(),
    status: z.enum(STATUSES).optional(),
    owner: z.string().min(1).max(256).optional(),
    expiringWithinDays: wholeNumber(0, 3650).optional(),
    top: wholeNumber(1, 100).optional(),
    continuation: z.string().min(1).max(8192).optional(),
    format: z.enum(["json", "csv"]).optional(),
  })
  .refine((q) => q.format !== "csv" || (q.top === undefined && q.continuation === undefined), {
    message: "format=csv exports every match: no top or continuation",
    path: ["format"],
  });

export const putQuery = z.strictObject({ recover: z.enum(["true", "false"]).optional() });
/** `upstream=skip` deletes without revoking: for what upstream no longer knows or the broker cannot reach. */
export const deleteQuery = z.strictObject({ upstream: z.enum(["revoke", "skip"]).optional() });
export const noQuery = z.strictObject({});
/** `GET /api/drift`: JSON (default) or one CSV of every finding. */
export const driftQuery = z.strictObject({ format: z.enum(["json", "csv"]).optional() });
/** Rotate: the organization a stored global PAT is migrated to (one; repeated is refused). */
export const rotateQuery = z.strictObject({ organization: organizationName.optional() });
