import type { InventoryItem } from "./managed-credential.js";

/**
 * What happened upstream when a credential was revoked:
 * - `revoked`: the PAT (authorizationId) or app password (keyId) no longer works;
 * - `already-gone`: upstream did not know it any more;
 * - `not-applicable`: nothing the broker can revoke (no authorizationId / keyId recorded);
 * - `not-configured`: revocable in principle, but the broker has no identity that may do it.
 */
export type UpstreamRevocation = "revoked" | "already-gone" | "not-applicable" | "not-configured";

/** The port to Azure DevOps and Microsoft Graph. Throws InventoryError("revocation_…") on failure. */
export interface UpstreamRevoker {
  revoke(item: InventoryItem): Promise<UpstreamRevocation>;
}

/** Until an upstream client is wired in: says honestly that nothing was revoked. */
export const noUpstreamRevoker: UpstreamRevoker = {
  revoke: (item) =>
    Promise.resolve(
      item.authorizationId !== undefined || item.keyId !== undefined ? "not-configured" : "not-applicable",
    ),
};
