import type { AzureDevOpsEmulatorOptions, PatStatus } from "./azure-devops.js";

/** The Azure DevOps emulator's PATs by organization, and the checks a create or update makes. */

const SCOPE = /^(app_token|vso\.[a-z_]+)$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface StoredPat {
  authorizationId: string;
  organization: string;
  ownerObjectId: string;
  displayName: string;
  scope: string;
  validFrom: number;
  validTo: number;
  revoked: boolean;
  token: string;
  targetAccounts: string[];
  serial: number;
  /** A global PAT: valid in every organization (until Azure DevOps retired them). */
  allOrgs: boolean;
}

/**
 * Azure DevOps' retirement of global PATs (PROTOCOLS §4): none created from 2026-03-15, none
 * authenticates from 2026-12-01. The emulator follows its own clock.
 */
export const GLOBAL_PAT_CREATION_BLOCKED = Date.parse("2026-03-15T00:00:00Z");
export const GLOBAL_PAT_RETIRED = Date.parse("2026-12-01T00:00:00Z");

/** Azure DevOps' error body shape (`$id`, `message`, `typeKey`…). */
export class AdoError extends Error {
  constructor(
    readonly status: number,
    readonly typeKey: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A PatTokenResult with an error, answered with the configured status. */
export class PatTokenErrorResult extends Error {
  constructor(readonly patTokenError: string) {
    super(patTokenError);
  }
}

export function createPatState(options: AzureDevOpsEmulatorOptions, now: () => number) {
  const maxLifetimeMs = (options.maxLifetimeDays ?? 365) * 24 * 3600_000;
  const orgs = new Map(options.organizations.map((o) => [o.name.toLowerCase(), o]));
  const pats = new Map<string, StoredPat>();
  let serial = 0;
  let pageLimit: number | undefined;

  const statusOf = (p: StoredPat): PatStatus =>
    p.revoked ? "revoked" : p.validTo <= now() ? "expired" : "active";

  function store(
    org: { name: string; id: string },
    p: Omit<StoredPat, "serial" | "targetAccounts" | "organization" | "allOrgs">,
    allOrgs = false,
  ): StoredPat {
    serial += 1;
    const targetAccounts = allOrgs ? [...orgs.values()].map((o) => o.id) : [org.id];
    const stored = { ...p, organization: org.name, targetAccounts, serial, allOrgs };
    pats.set(p.authorizationId, stored);
    return stored;
  }

  function orgOf(name: string): { name: string; id: string } {
    const org = orgs.get(name.toLowerCase());
    if (org === undefined) {
      throw new AdoError(
        404,
        "AccountNotFoundException",
        `TF400813: The organization '${name.slice(0, 60)}' was not found.`,
      );
    }
    return org;
  }

  /** The requesting user's PAT in this organization, or authorizationNotFound. */
  function patOf(org: { name: string }, user: string, id: string | null): StoredPat {
    if (id === null || !GUID.test(id)) throw new PatTokenErrorResult("invalidAuthorizationId");
    const p = pats.get(id.toLowerCase());
    // A global PAT is its user's in every organization (unverified: managed from any of them).
    if (p === undefined || (p.organization !== org.name && !p.allOrgs) || p.ownerObjectId !== user) {
      throw new PatTokenErrorResult("authorizationNotFound");
    }
    return p;
  }

  function checkValidTo(text: string | undefined): number {
    const validTo = text === undefined ? Number.NaN : Date.parse(text);
    if (Number.isNaN(validTo) || validTo <= now()) throw new PatTokenErrorResult("invalidValidTo");
    if (validTo > now() + maxLifetimeMs) throw new PatTokenErrorResult("patLifespanPolicyViolation");
    return validTo;
  }

  function checkScope(scope: string | undefined): string {
    const names = (scope ?? "").split(" ").filter((s) => s !== "");
    if (names.length === 0 || !names.every((n) => SCOPE.test(n)))
      throw new PatTokenErrorResult("invalidScope");
    return names.join(" ");
  }

  function checkDisplayName(name: string | undefined): string {
    if (name === undefined || name.trim() === "") throw new PatTokenErrorResult("displayNameRequired");
    // eslint-disable-next-line no-control-regex
    if (name.length > 256 || /[\u0000-\u001f<>]/.test(name))
      throw new PatTokenErrorResult("invalidDisplayName");
    return name;
  }

  /**
   * Global PATs could be created until 2026-03-15. What the real API answers after that is not
   * documented (unverified): its policy error for global PATs, `globalPatPolicyViolation`.
   */
  function checkAllOrgs(allOrgs: boolean | undefined): boolean {
    if (allOrgs !== true) return false;
    if (now() >= GLOBAL_PAT_CREATION_BLOCKED) throw new PatTokenErrorResult("globalPatPolicyViolation");
    return true;
  }

  /** Whether a PAT authenticates in an organization now: active, for it, and not a retired global one. */
  function authenticates(p: StoredPat, org: { id: string }): boolean {
    if (statusOf(p) !== "active" || !p.targetAccounts.includes(org.id)) return false;
    return !(p.allOrgs && now() >= GLOBAL_PAT_RETIRED);
  }

  return {
    orgs,
    pats,
    statusOf,
    store,
    orgOf,
    patOf,
    checkValidTo,
    checkScope,
    checkDisplayName,
    pageLimit: () => pageLimit,
    setPageLimit: (limit: number | undefined) => {
      pageLimit = limit;
    },
    checkAllOrgs,
    authenticates,
  };
}

export type PatState = ReturnType<typeof createPatState>;
