import type { InventoryItem } from "./managed-credential.js";

/**
 * What happened upstream when a credential was revoked:
 * - `revoked`: the PAT (authorizationId) or app password (keyId) no longer works;
 * - `not-found`: upstream does not know it (already revoked, or not the rotator user's PAT);
 * - `not-applicable`: nothing the broker can revoke (no authorizationId / keyId recorded);
 * - `not-configured`: revocable in principle, but the broker has no identity that may do it;
 * - `skipped`: the admin asked to delete without revoking.
 */
export type UpstreamRevocation = "revoked" | "not-found" | "not-applicable" | "not-configured" | "skipped";

/** The port to Azure DevOps and Microsoft Graph. Throws InventoryError("revocation_…") on failure. */
export interface UpstreamRevoker {
  /** Revokes the current upstream credential and any older one still waiting out its grace. */
  revoke(item: InventoryItem, tags: Readonly<Record<string, string>>): Promise<UpstreamRevocation>;
}
