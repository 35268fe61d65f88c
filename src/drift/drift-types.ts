/**
 * The drift report (`GET /api/drift`): what exists upstream that the vault does not know, and
 * what the vault holds that upstream no longer has. Metadata only: never a PAT, a secret or a
 * token, and no upstream text (codes and the broker's own words). Type aliases rather than
 * interfaces: the wire schema's loose objects (src/wire/drift.ts) take only those.
 */

/**
 * `high`: carries this broker's marker, so the broker made it and the vault lost it (a live
 * credential nobody tends or rotates); `medium`: a global or full-scope PAT; `low`: anything else.
 */
export type DriftSeverity = "high" | "medium" | "low";

/** Whose marker a display name carries: this deployment's, another broker's, or none. */
export type DriftMarker = "this-deployment" | "other-deployment" | null;

export type UnmanagedPat = {
  organization: string;
  /** The rotator grant whose user owns it (the listing is per user). */
  grant: string;
  authorizationId: string;
  displayName: string;
  scopes: string[];
  validFrom: string;
  validTo: string;
  /** Valid in every organization (`targetAccounts` empty or null): global PATs. */
  global: boolean;
  /** Carries `app_token`: full access as its user. */
  fullScope: boolean;
  marker: DriftMarker;
  /** The vault credential this deployment's marker names (the one that lost it); else null. */
  markedCredential: string | null;
  severity: DriftSeverity;
};

export type UnmanagedPassword = {
  applicationObjectId: string;
  keyId: string;
  displayName: string | null;
  /** Graph's first characters of the secret (all Graph ever shows again). */
  hint: string | null;
  startDateTime: string;
  endDateTime: string;
  marker: DriftMarker;
  markedCredential: string | null;
  severity: DriftSeverity;
};

/** A managed credential whose current upstream id is no longer live upstream (revoked, expired or deleted). */
export type MissingUpstream = {
  name: string;
  kind: "pat" | "client-secret";
  organization: string | null;
  applicationObjectId: string | null;
  upstreamId: string;
  enabled: boolean;
  expiresOn: string | null;
};

/** A part of upstream the report could not read: the rest of the report stands. */
export type DriftUnreadable = {
  source: "azure-devops" | "graph";
  organization?: string;
  /** The grant the organization's listing went through, when there is one. */
  grant?: string;
  applicationObjectId?: string;
  /** Short and stable, e.g. `rotator_grant_grant_refused`, `devops_list_unauthorized`. */
  code: string;
  /** The broker's words (never upstream text). */
  detail: string;
};

/** A managed credential the report could not compare upstream, and why (e.g. no organization). */
export type DriftSkipped = {
  name: string;
  reason: string;
};

export interface DriftReport {
  generatedAt: string;
  /** What was compared: managed credentials listed, and the upstream places read. */
  checked: { credentials: number; organizations: string[]; applications: string[] };
  unmanagedPats: UnmanagedPat[];
  unmanagedPasswords: UnmanagedPassword[];
  missingUpstream: MissingUpstream[];
  unreadable: DriftUnreadable[];
  skipped: DriftSkipped[];
}
