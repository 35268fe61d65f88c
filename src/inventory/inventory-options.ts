import type { SecretStore } from "../vault/secret-store.js";
import type { LeaseProvider } from "../lease/lease.js";
import type { CredentialKind, StatusRules } from "./managed-credential.js";
import type { CreationAnnouncer } from "./creation.js";
import type { PatVerifier } from "./pat-verification.js";
import type { UpstreamRevoker } from "./upstream-revoker.js";

/** Creates a credential upstream and proves it works (rotation's first steps), for imports without a value. */
export type UpstreamCreator = (
  kind: CredentialKind,
  name: string,
  tags: Readonly<Record<string, string>>,
) => Promise<{
  value: string;
  expiresOn: Date;
  upstreamId: string;
  upstreamIdTag: string;
  /** The upstream id, and `verify-pending` when upstream does not accept it yet. */
  tags: Record<string, string>;
  /** Revokes it again (best effort): it could not be stored, so nobody will ever hold it. */
  discard: () => Promise<void>;
}>;

/**
 * Client secrets: refuses (RotationError application_not_managed / client_id_mismatch) an app the
 * broker may not manage; true when `value` is proven to be the recorded keyId's, so the broker may
 * remove that password later.
 */
export type ClientSecretProver = (
  tags: Readonly<Record<string, string>>,
  value: string | undefined,
) => Promise<boolean>;

export interface InventoryOptions {
  store: SecretStore;
  /** Writes take the rotation lease (ROTATION_LEASE), shared with the sweep and rotate-now. */
  leases: LeaseProvider;
  /** Absent: no client secret is ever proven (the broker then never removes an imported one). */
  proveClientSecret?: ClientSecretProver;
  /** Absent: imports must carry a value. */
  creator?: UpstreamCreator;
  revoker: UpstreamRevoker;
  /** Proves a PAT value at Azure DevOps before it is stored (unless the request says verify: false). */
  checkPat: PatVerifier;
  now: () => number;
  /** Tells the owner of every new version (absent: nobody is told). */
  announce?: CreationAnnouncer;
  /** Auto rotation starts this many days before expiry: an auto credential must live longer. */
  rotateBeforeDays?: number;
  /** How long a replaced credential stays valid before the rotation sweep revokes it. */
  revokeGraceMinutes?: number;
  /** Notice thresholds; the largest is the `expiring` window. */
  noticeDays: readonly number[];
  /** Vault pages one list call may read before answering with what it has (sparse filters). */
  maxVaultPagesPerCall?: number;
}

export const DAY_MS = 24 * 3600_000;

export function statusRules(options: Pick<InventoryOptions, "now" | "noticeDays">): StatusRules {
  return { now: options.now(), noticeDays: Math.max(...options.noticeDays) };
}
