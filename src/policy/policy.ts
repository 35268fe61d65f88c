import type { Principal } from "../auth/principal.js";
import { compileClaimPattern, MAX_CLAIM_LENGTH } from "./claim-pattern.js";
import type { ClaimMatcher, PolicyDocument, Profile } from "./schema.js";

type Test = (claim: unknown) => boolean;

interface CompiledGrant {
  /** Grants that name `iss` bind to that issuer; the rest apply to the Entra tenant only. */
  issuerBound: boolean;
  tests: [claim: string, test: Test][];
  profiles: readonly string[];
  roles: readonly string[];
}

export interface Entitlements {
  profiles: ReadonlySet<string>;
  roles: ReadonlySet<string>;
}

export interface Policy {
  profile(name: string): Profile | undefined;
  profileNames(): string[];
  /** What a verified caller may have: deny by default, so no matching grant means nothing. */
  entitlements(principal: Principal): Entitlements;
  /** Teams workflow URL per credential owner, keyed by the lower-cased owner. */
  noticeTeamsTargets(): ReadonlyMap<string, string>;
  /** `rotation.applications`: the application object ids (lower case) the broker may manage; undefined = no list. */
  managedApplications(): ReadonlySet<string> | undefined;
}

/** Claim values compare as strings; a list-valued claim matches when any of its values does. */
function compileMatcher(matcher: ClaimMatcher): Test {
  let accepts: (value: string) => boolean;
  if (typeof matcher === "string") {
    accepts = (v) => v === matcher;
  } else if (Array.isArray(matcher)) {
    const set = new Set(matcher);
    accepts = (v) => set.has(v);
  } else {
    // RE2: linear in the claim's length; anchored whatever the author wrote, compiled once at load.
    accepts = compileClaimPattern(matcher.pattern);
  }
  // A claim longer than any policy value matches nothing (and costs nothing to refuse).
  const capped = (v: string) => v.length <= MAX_CLAIM_LENGTH && accepts(v);
  return (claim) => {
    if (typeof claim === "string") return capped(claim);
    if (Array.isArray(claim)) return claim.some((c) => typeof c === "string" && capped(c));
    return false;
  };
}

export function compilePolicy(doc: PolicyDocument): Policy {
  const grants: CompiledGrant[] = doc.grants.map((g) => ({
    issuerBound: "iss" in g.match,
    tests: Object.entries(g.match).map(([claim, m]) => [claim, compileMatcher(m)]),
    profiles: g.profiles,
    roles: g.roles,
  }));
  const profiles = new Map(Object.entries(doc.profiles));
  const teams = new Map(
    Object.entries(doc.notices?.teams ?? {}).map(([owner, url]) => [owner.toLowerCase(), url]),
  );
  const applications = doc.rotation !== undefined ? new Set(doc.rotation.applications) : undefined;
  return {
    noticeTeamsTargets: () => teams,
    managedApplications: () => applications,
    profile: (name) => profiles.get(name),
    profileNames: () => [...profiles.keys()],
    entitlements(principal) {
      const granted = new Set<string>();
      const roles = new Set<string>();
      for (const grant of grants) {
        // A grant without `iss` must not match look-alike claims minted by another trusted issuer.
        if (!grant.issuerBound && principal.issuerKind !== "entra") continue;
        if (!grant.tests.every(([claim, test]) => test(principal.claims[claim]))) continue;
        for (const p of grant.profiles) granted.add(p);
        for (const r of grant.roles) roles.add(r);
      }
      return { profiles: granted, roles };
    },
  };
}
