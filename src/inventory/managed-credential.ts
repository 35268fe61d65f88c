import type { SecretProperties } from "../vault/secret-store.js";

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
  "rotation-failed",
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
  rotationError: "rotation-error",
  /** Client secrets: keyIds whose value the broker proved against Entra at import (space-separated). */
  verifiedKeyIds: "verified-key-ids",
} as const;

export const MANAGED_BY = "token-broker";
/** Organisation tag value of a PAT valid in every organisation the user can reach. */
export const ALL_ORGANIZATIONS = "*";

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
  if (p.tags[TAG.rotationError] !== undefined) return "rotation-failed";
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
