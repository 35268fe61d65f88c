import { isEntraIssuerForm } from "../auth/issuers.js";
import { normaliseEntraClaims, type Principal } from "../auth/principal.js";
import type { MatcherKind } from "./claim-matcher.js";
import { appliesToIssuer, type Policy } from "./policy.js";
import type { ClaimMatcher } from "./schema.js";

/**
 * Why a set of claims gets a profile or not, grant by grant, with the very tests the token route
 * decides with (claim-matcher.ts, policy.ts): the decision here is the decision there. Reasons are
 * fixed words; a claim's value never appears (the explained claims may hold anything, a token too).
 */

export type IssuerKind = Principal["issuerKind"];

/** What is explained: claims, and whether they count as the Entra tenant's or another issuer's. */
export interface ExplainSubject {
  claims: Readonly<Record<string, unknown>>;
  issuerKind: IssuerKind;
}

// Type aliases rather than interfaces: the wire's loose objects (src/wire/policy-explain.ts) take them.
export type ClaimExplanation = {
  claim: string;
  matcher: MatcherKind;
  /** The policy's own value: string, list or `{pattern}`. */
  expected: ClaimMatcher;
  matched: boolean;
  reason: string;
};

export type GrantExplanation = {
  index: number;
  description?: string;
  profiles: string[];
  roles: string[];
  namesProfile: boolean;
  /** False for a grant without `iss` and claims of another issuer (DESIGN §5). */
  appliesToIssuer: boolean;
  /** The grant matches the claims: its issuer rule and every claim. */
  matched: boolean;
  claims: ClaimExplanation[];
};

export type Explanation = {
  profile: string;
  decision: "allow" | "deny";
  profileExists: boolean;
  issuerKind: IssuerKind;
  grants: GrantExplanation[];
};

export function explain(policy: Policy, subject: ExplainSubject, profile: string): Explanation {
  const grants = policy.grants().map((grant): GrantExplanation => {
    const claims = grant.claims.map((c): ClaimExplanation => {
      const verdict = c.test(subject.claims[c.claim]);
      return {
        claim: c.claim,
        matcher: c.kind,
        expected: c.expected,
        matched: verdict.matched,
        reason: verdict.reason,
      };
    });
    const applies = appliesToIssuer(grant, subject.issuerKind);
    return {
      index: grant.index,
      ...(grant.description !== undefined ? { description: grant.description } : {}),
      profiles: [...grant.profiles],
      roles: [...grant.roles],
      namesProfile: grant.profiles.includes(profile),
      appliesToIssuer: applies,
      matched: applies && claims.every((c) => c.matched),
      claims,
    };
  });
  const profileExists = policy.profile(profile) !== undefined;
  const allowed = profileExists && grants.some((g) => g.namesProfile && g.matched);
  return {
    profile,
    decision: allowed ? "allow" : "deny",
    profileExists,
    issuerKind: subject.issuerKind,
    grants,
  };
}

/**
 * How given claims are taken when the explainer is not told: as the Entra tenant's when `iss` is
 * absent, is one of `entraIssuers` (the broker's own), or has an Entra issuer's form (the
 * authority table of src/auth/issuers.ts); as another trusted issuer's otherwise.
 */
export function defaultIssuerKind(
  claims: Readonly<Record<string, unknown>>,
  entraIssuers: readonly string[] = [],
): IssuerKind {
  const iss = claims["iss"];
  if (iss === undefined) return "entra";
  if (typeof iss !== "string") return "trusted";
  return entraIssuers.includes(iss) || isEntraIssuerForm(iss) ? "entra" : "trusted";
}

/** Claims as the broker would see them once verified: Entra's v2 `azp` is matched as `appid`. */
export function explainSubject(
  claims: Readonly<Record<string, unknown>>,
  issuer: IssuerKind | undefined,
  entraIssuers: readonly string[] = [],
): ExplainSubject {
  const issuerKind = issuer ?? defaultIssuerKind(claims, entraIssuers);
  return { issuerKind, claims: issuerKind === "entra" ? normaliseEntraClaims(claims) : claims };
}
