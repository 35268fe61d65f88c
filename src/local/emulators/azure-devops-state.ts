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
  /** Valid in every organization: answered with `targetAccounts` null. */
  global?: boolean;
  serial: number;
}

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
    p: Omit<StoredPat, "serial" | "targetAccounts" | "organization">,
  ): StoredPat {
    serial += 1;
    const stored = { ...p, organization: org.name, targetAccounts: [org.id], serial };
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
    if (p === undefined || p.organization !== org.name || p.ownerObjectId !== user) {
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
  };
}

export type PatState = ReturnType<typeof createPatState>;
