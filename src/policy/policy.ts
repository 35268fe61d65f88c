import type { Principal } from "../auth/principal.js";
import { compileClaim, type CompiledClaim } from "./claim-matcher.js";
import type { PolicyDocument, Profile } from "./schema.js";

/** One grant as loaded: what both the grant check and the explainer (explain.ts) read. */
export interface CompiledGrant {
  /** Its position in the file's `grants`. */
  index: number;
  description: string | undefined;
  /** Grants that name `iss` bind to that issuer; the rest apply to the Entra tenant only. */
  issuerBound: boolean;
  claims: readonly CompiledClaim[];
  profiles: readonly string[];
  roles: readonly string[];
}

/** A grant without `iss` must not match look-alike claims minted by another trusted issuer. */
export function appliesToIssuer(grant: CompiledGrant, issuerKind: Principal["issuerKind"]): boolean {
  return grant.issuerBound || issuerKind === "entra";
}

/** Whether the grant matches the caller: its issuer rule and every claim it names. */
export function grantMatches(
  grant: CompiledGrant,
  principal: Pick<Principal, "issuerKind" | "claims">,
): boolean {
  return (
    appliesToIssuer(grant, principal.issuerKind) &&
    grant.claims.every((c) => c.test(principal.claims[c.claim]).matched)
  );
}

export interface Entitlements {
  profiles: ReadonlySet<string>;
  roles: ReadonlySet<string>;
}

export interface Policy {
  profile(name: string): Profile | undefined;
  profileNames(): string[];
  /** What a verified caller may have: deny by default, so no matching grant means nothing. */
  entitlements(principal: Pick<Principal, "issuerKind" | "claims">): Entitlements;
  /** The grants in file order, compiled (for the explainer). */
  grants(): readonly CompiledGrant[];
  /** Teams workflow URL per credential owner, keyed by the lower-cased owner. */
  noticeTeamsTargets(): ReadonlyMap<string, string>;
  /** `rotation.applications`: the application object ids (lower case) the broker may manage; undefined = no list. */
  managedApplications(): ReadonlySet<string> | undefined;
}

export function compilePolicy(doc: PolicyDocument): Policy {
  const grants: CompiledGrant[] = doc.grants.map((g, index) => ({
    index,
    description: g.description,
    issuerBound: "iss" in g.match,
    claims: Object.entries(g.match).map(([claim, m]) => compileClaim(claim, m)),
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
    grants: () => grants,
    entitlements(principal) {
      const granted = new Set<string>();
      const roles = new Set<string>();
      for (const grant of grants) {
        if (!grantMatches(grant, principal)) continue;
        for (const p of grant.profiles) granted.add(p);
        for (const r of grant.roles) roles.add(r);
      }
      return { profiles: granted, roles };
    },
  };
}
