import { z } from "zod";
import { isLoopbackUrl } from "../net/loopback.js";
import { SECRET_NAME } from "../inventory/managed-credential.js";
import { isClaimPattern } from "./claim-pattern.js";

/** Policy file format (DESIGN §5): profiles and the grants that hand them out. Unknown keys are errors. */

export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Key Vault secret names (DESIGN §4). */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const secretName = z.string().regex(SECRET_NAME, "must be a Key Vault secret name");

const managedIdentityCredential = z.strictObject({
  type: z.literal("managed-identity"),
  /**
   * A user-assigned minting identity of the broker; BROKER_MINTING_CLIENT_ID when absent. Never the
   * control identity (AZURE_CLIENT_ID): the load refuses that (policy/minting-identity.ts).
   */
  clientId: z.string().regex(GUID, "must be a GUID").optional(),
});

const clientSecretCredential = z.strictObject({
  type: z.literal("client-secret"),
  tenantId: z.string().regex(GUID, "must be a GUID"),
  clientId: z.string().regex(GUID, "must be a GUID"),
  /** The vault secret holding the app's client secret. */
  secret: secretName,
});

const entraProfile = z.strictObject({
  kind: z.literal("entra"),
  description: z.string().max(500).optional(),
  /** One resource's `.default` scope: a token is for one audience. */
  scope: z
    .string()
    .min(1)
    .max(500)
    .regex(/^\S+\/\.default$/, "must be a single '<resource>/.default' scope"),
  credential: z.discriminatedUnion("type", [managedIdentityCredential, clientSecretCredential]),
});

const patProfile = z.strictObject({
  kind: z.literal("pat"),
  description: z.string().max(500).optional(),
  secret: secretName,
});

export const profileSchema = z.discriminatedUnion("kind", [entraProfile, patProfile]);
export type Profile = z.infer<typeof profileSchema>;

const claimName = z.string().regex(/^[A-Za-z0-9_:.-]{1,64}$/, "must be a claim name");
const claimValue = z.string().min(1).max(1024);

const patternMatcher = z.strictObject({
  pattern: z
    .string()
    .min(1)
    .max(1024)
    .refine(
      isClaimPattern,
      "must be a valid RE2 regular expression (no backreferences or lookaround: matching must stay linear-time)",
    ),
});

export const claimMatcherSchema = z.union([claimValue, z.array(claimValue).min(1), patternMatcher], {
  error: 'must be a claim value, a non-empty list of them or {"pattern": "…"}',
});
export type ClaimMatcher = z.infer<typeof claimMatcherSchema>;

const grantSchema = z.strictObject({
  description: z.string().max(500).optional(),
  match: z
    .record(claimName, claimMatcherSchema)
    .refine(
      (m) => Object.keys(m).length > 0,
      "must name at least one claim: an empty match would grant everyone",
    ),
  profiles: z.array(z.string().regex(PROFILE_NAME)).default([]),
  roles: z.array(z.enum(["Inventory.Read", "Policy.Read", "Secrets.Admin"])).default([]),
});

/** A Teams workflow URL: it carries the workflow's key, so it is never logged. */
const teamsWorkflowUrl = z
  .url({ protocol: /^https?$/ })
  .refine((u) => u.startsWith("https://") || isLoopbackUrl(u), "must use https (http only for loopback)");

/** Where expiry notices go per credential owner (the `owner` tag, case-insensitive). */
const noticesSchema = z.strictObject({
  teams: z.record(z.string().min(1).max(256), teamsWorkflowUrl).default({}),
});

/**
 * What the client-secret rotator may touch: the object ids of the applications whose passwords
 * the broker may add, rotate and remove. Absent: any application it has a credential for (and
 * Graph lets it change); present: every other application is refused.
 */
const rotationSchema = z.strictObject({
  applications: z
    .array(z.string().regex(GUID, "must be an application object id (GUID)"))
    .max(500)
    .transform((ids) => ids.map((id) => id.toLowerCase())),
});

export const policySchema = z
  .strictObject({
    $schema: z.string().optional(),
    profiles: z.record(z.string().regex(PROFILE_NAME, "must be a profile name"), profileSchema),
    grants: z.array(grantSchema),
    notices: noticesSchema.optional(),
    rotation: rotationSchema.optional(),
  })
  .superRefine((policy, ctx) => {
    policy.grants.forEach((grant, index) => {
      grant.profiles.forEach((name, at) => {
        if (!(name in policy.profiles)) {
          ctx.addIssue({
            code: "custom",
            path: ["grants", index, "profiles", at],
            message: "names no profile",
          });
        }
      });
      // Roles for another issuer's tokens (GitHub mints them for any repository and audience) need
      // exact claims beyond `iss`, and admin needs one exact `sub`: never a whole issuer or a pattern.
      if (grant.roles.length > 0 && "iss" in grant.match) {
        const exact = Object.entries(grant.match).filter(
          ([claim, m]) => claim !== "iss" && typeof m === "string",
        );
        const patterns = Object.values(grant.match).some((m) => typeof m === "object" && !Array.isArray(m));
        if (exact.length === 0 || patterns) {
          ctx.addIssue({
            code: "custom",
            path: ["grants", index, "match"],
            message: "a grant with roles for an issuer must match exact claims besides iss (no patterns)",
          });
        }
        if (grant.roles.includes("Secrets.Admin") && typeof grant.match["sub"] !== "string") {
          ctx.addIssue({
            code: "custom",
            path: ["grants", index, "match", "sub"],
            message: "Secrets.Admin for an issuer's tokens needs one exact sub",
          });
        }
      }
      if (grant.profiles.length === 0 && grant.roles.length === 0) {
        ctx.addIssue({
          code: "custom",
          path: ["grants", index],
          message: "grants neither profiles nor roles",
        });
      }
    });
  });
export type PolicyDocument = z.infer<typeof policySchema>;
