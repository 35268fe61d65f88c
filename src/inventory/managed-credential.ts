import type { SecretProperties } from "../vault/secret-store.js";
import { parseVerifyPending, VERIFY_PENDING_TAG } from "./verify-pending.js";

/**
 * One managed credential = one Key Vault secret (DESIGN §4). The metadata lives in the
 * secret's content type, expiry and tags; this module is the one place that knows the tag names.
 */

/** Key Vault's secret-name rule: a managed credential's name. */
export const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

export const KINDS = ["pat", "client-secret", "refresh-token"] as const;
export type CredentialKind = (typeof KINDS)[number];

export const CONTENT_TYPES: Record<CredentialKind, string> = {
  pat: "application/vnd.azure-devops.pat",
  "client-secret": "application/vnd.microsoft.entra.client-secret",
  "refresh-token": "application/vnd.microsoft.entra.refresh-token",
};

export const STATUSES = [
  "active",
  "expiring",
  "expired",
  "disabled",
  /** A global PAT (all organizations): Azure DevOps retired them on 2026-12-01; never handed out. */
  "retired",
  "rotation-failed",
  "pending-verification",
  "pending-revoke",
] as const;
export type CredentialStatus = (typeof STATUSES)[number];

export const ROTATIONS = ["auto", "manual"] as const;
export type Rotation = (typeof ROTATIONS)[number];

export const TAG = {
  managedBy: "managed-by",
  kind: "kind",
  owner: "owner",
  organization: "org",
  scopes: "scopes",
  authorizationId: "authorization-id",
  applicationObjectId: "application-object-id",
  keyId: "key-id",
  clientId: "client-id",
  rotation: "rotation",
  lifetimeDays: "lifetime-days",
  rotatedOn: "rotated-on",
  pendingRevoke: "pending-revoke",
  noticeSentFor: "notice-sent-for",
  /** `sent` once the owner was told this version was created (the creation notice). */
  createdNotice: "created-notice",
  rotationError: "rotation-error",
  /**
   * A new client secret Entra does not accept yet, and the proven version handed out meanwhile.
   * Key Vault holds 15 tags a secret: a client secret carries at most 14 (never `authorization-id`).
   */
  verifyPending: VERIFY_PENDING_TAG,
  /** refresh-token: how the grant's client redeems it (`public`, `confidential`). */
  clientType: "client-type",
  /** refresh-token, confidential client: the managed client-secret credential holding the client's secret. */
  clientSecretName: "client-secret-name",
  /** refresh-token: when the stored refresh token was obtained (its expiry is 90 days of inactivity from then). */
  lastRedeemed: "last-redeemed",
  /** Client secrets: keyIds whose value the broker proved against Entra at import (space-separated). */
  verifiedKeyIds: "verified-key-ids",
} as const;

/**
 * The client a rotator grant (refresh token) belongs to. `spa` is named only to refuse it with the
 * reason: refresh tokens issued to single-page-app redirect URIs live 24 hours and must be redeemed
 * cross-origin, so no server can keep such a grant alive.
 */
export const CLIENT_TYPES = ["public", "confidential", "spa"] as const;
export type ClientType = (typeof CLIENT_TYPES)[number];
export const SPA_REFUSED =
  "spa clients cannot serve the rotator: Entra gives single-page-app redirect URIs refresh tokens that live 24 hours and are redeemed only cross-origin (an Origin header); use a public client (allow public client flows) or a confidential (web) client";

/** Entra refresh tokens of public and confidential clients expire after 90 days without use. */
export const REFRESH_TOKEN_INACTIVITY_DAYS = 90;
export const REFRESH_TOKEN_INACTIVITY_MS = REFRESH_TOKEN_INACTIVITY_DAYS * 24 * 3600_000;

export const MANAGED_BY = "token-broker";
/** Organisation tag value of a PAT valid in every organisation the user can reach. */
export const ALL_ORGANIZATIONS = "*";

/** A PAT for every organization: Azure DevOps stopped accepting these on 2026-12-01. */
export function isGlobalPat(tags: Readonly<Record<string, string>>): boolean {
  return tags[TAG.kind] === "pat" && tags[TAG.organization] === ALL_ORGANIZATIONS;
}

export function isManaged(tags: Readonly<Record<string, string>>): boolean {
  return tags[TAG.managedBy] === MANAGED_BY && (KINDS as readonly string[]).includes(tags[TAG.kind] ?? "");
}

/** What ops see of a credential: metadata only, never a value. */
export interface InventoryItem {
  name: string;
  kind: CredentialKind;
  owner: string | null;
  organization: string | null;
  scopes: string[];
  expiresOn: string | null;
  daysLeft: number | null;
  status: CredentialStatus;
  rotation: Rotation;
  rotatedOn: string | null;
  /** null in list answers: the vault's listing names no versions (GET one item for it). */
  version: string | null;
  enabled: boolean;
  createdOn: string | null;
  updatedOn: string | null;
  contentType: string | null;
  /** Posture findings, e.g. `global-pat`, `full-scope-pat`, `no-expiry`. */
  warnings: string[];
  authorizationId?: string;
  applicationObjectId?: string;
  keyId?: string;
  clientId?: string;
  rotationError?: string;
  /** Set while a new client secret waits for Entra to accept it (status `pending-verification`). */
  pendingVerificationSince?: string;
  /** refresh-token: `public` or `confidential`. */
  clientType?: string;
  /** refresh-token, confidential client: the credential holding the client's secret. */
  clientSecretName?: string;
  /** refresh-token: when the stored refresh token was obtained; it expires 90 days of inactivity later. */
  lastRedeemed?: string;
}

/** An item read on its own (not from a listing), so its current version is known. */
export type VersionedItem = InventoryItem & { version: string };

export function isVersioned(item: InventoryItem): item is VersionedItem {
  return item.version !== null;
}

const DAY_MS = 24 * 3600_000;
/** Scope that gives a PAT full access to everything its user can do. */
export const FULL_ACCESS_SCOPE = "app_token";

export interface StatusRules {
  now: number;
  /** Within this many days of expiry (the largest notice threshold) a credential is `expiring`. */
  noticeDays: number;
}

export function daysLeft(expiresOn: Date | undefined, now: number): number | null {
  return expiresOn === undefined ? null : Math.floor((expiresOn.getTime() - now) / DAY_MS);
}

/** The most pressing state first: what ops must act on outranks what merely is. */
export function statusOf(p: SecretProperties, rules: StatusRules): CredentialStatus {
  if (!p.enabled) return "disabled";
  const exp = p.expiresOn?.getTime();
  if (exp !== undefined && exp <= rules.now) return "expired";
  if (isGlobalPat(p.tags)) return "retired";
  if (p.tags[TAG.rotationError] !== undefined) return "rotation-failed";
  if (parseVerifyPending(p.tags[TAG.verifyPending]) !== undefined) return "pending-verification";
  if (exp !== undefined && exp - rules.now <= rules.noticeDays * DAY_MS) return "expiring";
  if (p.tags[TAG.pendingRevoke] !== undefined) return "pending-revoke";
  return "active";
}

const iso = (d: Date | undefined) => (d === undefined ? null : d.toISOString());

export function splitScopes(tag: string | undefined): string[] {
  return (tag ?? "").split(" ").filter((s) => s !== "");
}

/** A managed secret's metadata as an inventory item; undefined for secrets that are not ours. */
export function toItem(p: SecretProperties, rules: StatusRules): InventoryItem | undefined {
  if (!isManaged(p.tags)) return undefined;
  const t = p.tags;
  const kind = t[TAG.kind] as CredentialKind;
  const scopes = splitScopes(t[TAG.scopes]);
  const organization = t[TAG.organization] ?? null;
  const warnings: string[] = [];
  if (kind === "pat" && organization === ALL_ORGANIZATIONS) warnings.push("global-pat");
  if (kind === "pat" && scopes.includes(FULL_ACCESS_SCOPE)) warnings.push("full-scope-pat");
  if (p.expiresOn === undefined) warnings.push("no-expiry");
  const rotatedOn = t[TAG.rotatedOn];
  const optional: Partial<InventoryItem> = {};
  if (t[TAG.authorizationId] !== undefined) optional.authorizationId = t[TAG.authorizationId];
  if (t[TAG.applicationObjectId] !== undefined) optional.applicationObjectId = t[TAG.applicationObjectId];
  if (t[TAG.keyId] !== undefined) optional.keyId = t[TAG.keyId];
  if (t[TAG.clientId] !== undefined) optional.clientId = t[TAG.clientId];
  if (t[TAG.rotationError] !== undefined) optional.rotationError = t[TAG.rotationError];
  const verifying = parseVerifyPending(t[TAG.verifyPending]);
  if (verifying !== undefined) optional.pendingVerificationSince = new Date(verifying.since).toISOString();
  if (kind === "refresh-token") {
    optional.clientType = t[TAG.clientType] ?? "public";
    if (t[TAG.clientSecretName] !== undefined) optional.clientSecretName = t[TAG.clientSecretName];
    const last = t[TAG.lastRedeemed];
    if (last !== undefined && !Number.isNaN(Date.parse(last))) optional.lastRedeemed = last;
  }
  return {
    name: p.name,
    kind,
    owner: t[TAG.owner] ?? null,
    organization,
    scopes,
    expiresOn: iso(p.expiresOn),
    daysLeft: daysLeft(p.expiresOn, rules.now),
    status: statusOf(p, rules),
    rotation: t[TAG.rotation] === "auto" ? "auto" : "manual",
    rotatedOn: rotatedOn !== undefined && !Number.isNaN(Date.parse(rotatedOn)) ? rotatedOn : null,
    version: p.version === "" ? null : p.version,
    enabled: p.enabled,
    createdOn: iso(p.createdOn),
    updatedOn: iso(p.updatedOn),
    contentType: p.contentType ?? null,
    warnings,
    ...optional,
  };
}
