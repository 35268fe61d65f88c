import { z } from "zod";

/**
 * `POST /api/policy/explain` on the wire: the claims it takes (also the claims of the offline
 * check's expectation files) and its answer. The handler's answer has this type and the CLI
 * parses with it; objects are loose, so a newer broker may add fields.
 */

/** Larger than any real claim (MAX_CLAIM_LENGTH): such a claim is explained as matching nothing. */
const claimText = z.string().max(16 * 1024);

/** Claim name -> value, as a decoded token carries them (objects are left out: no grant reads one). */
export const explainClaims = z
  .record(
    z.string().min(1).max(256),
    z.union([claimText, z.array(claimText).max(200), z.number(), z.boolean()], {
      error: "must be a string, a list of strings, a number or a boolean",
    }),
  )
  .refine((claims) => Object.keys(claims).length <= 200, "at most 200 claims");
export type ExplainClaims = z.infer<typeof explainClaims>;

export const issuerKindWire = z.enum(["entra", "trusted"]);

const claimExplanationWire = z.looseObject({
  claim: z.string(),
  matcher: z.enum(["exact", "any-of", "pattern"]),
  /** The policy's value: a string, a list, or `{pattern}`. */
  expected: z.union([z.string(), z.array(z.string()), z.looseObject({ pattern: z.string() })]),
  matched: z.boolean(),
  /** Fixed words ("equal", "claim absent", "pattern does not match"…), never the claim's value. */
  reason: z.string(),
});

const grantExplanationWire = z.looseObject({
  index: z.number().int(),
  description: z.string().optional(),
  profiles: z.array(z.string()),
  roles: z.array(z.string()),
  namesProfile: z.boolean(),
  appliesToIssuer: z.boolean(),
  matched: z.boolean(),
  claims: z.array(claimExplanationWire),
});
export type GrantExplanationWire = z.infer<typeof grantExplanationWire>;

/**
 * The answer. Without Policy.Read only `profile`, `decision` and `subject: "caller"`: what the
 * caller learns from `POST /api/token` anyway. With it, the explanation grant by grant.
 */
export const policyExplainWire = z.looseObject({
  profile: z.string(),
  decision: z.enum(["allow", "deny"]),
  /** Whose claims: the verified caller's own, or those given as claims or in a token. */
  subject: z.enum(["caller", "claims", "token"]),
  profileExists: z.boolean().optional(),
  issuerKind: issuerKindWire.optional(),
  /** What the broker would do with such a token before any grant (fixed sentences). */
  warnings: z.array(z.string()).optional(),
  grants: z.array(grantExplanationWire).optional(),
});
export type PolicyExplainWire = z.infer<typeof policyExplainWire>;
