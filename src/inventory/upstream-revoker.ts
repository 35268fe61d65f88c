import { DevOpsError } from "../devops/devops-error.js";
import type { PatLifecycleClient } from "../devops/pat-lifecycle-client.js";
import { RotatorIdentityError, type RotatorIdentity } from "../devops/rotator-identity.js";
import type { ApplicationPasswordsClient } from "../graph/application-passwords-client.js";
import { GraphError } from "../graph/graph-error.js";
import { InventoryError } from "./inventory-error.js";
import { ALL_ORGANIZATIONS, type InventoryItem } from "./managed-credential.js";

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
  revoke(item: InventoryItem): Promise<UpstreamRevocation>;
}

export interface UpstreamClients {
  rotator: RotatorIdentity;
  /** A PAT Lifecycle client acting as the given grant's user. */
  pats: (grantName: string) => PatLifecycleClient;
  passwords: ApplicationPasswordsClient;
}

/** Revokes a PAT through the PAT Lifecycle API (as the rotator user) and an app secret through Graph. */
export class AzureUpstreamRevoker implements UpstreamRevoker {
  constructor(private readonly clients: UpstreamClients) {}

  async revoke(item: InventoryItem): Promise<UpstreamRevocation> {
    try {
      if (item.kind === "pat") return await this.revokePat(item);
      if (item.kind === "client-secret") return await this.revokePassword(item);
      // A refresh token is revoked by revoking the user's sessions in Entra, not by the broker.
      return "not-applicable";
    } catch (error) {
      throw asRevocationError(error);
    }
  }

  private async revokePat(item: InventoryItem): Promise<UpstreamRevocation> {
    const { authorizationId, organization } = item;
    if (authorizationId === undefined) return "not-applicable";
    if (organization === null || organization === ALL_ORGANIZATIONS) return "not-configured";
    const grant = await this.clients.rotator.grantFor(organization);
    if (grant === undefined) return "not-configured";
    try {
      await this.clients.pats(grant).revoke(organization, authorizationId);
      return "revoked";
    } catch (error) {
      const notFound = ["authorizationNotFound", "invalidAuthorizationId", "tokenNotFound"];
      if (
        error instanceof DevOpsError &&
        error.reason.kind === "rejected" &&
        notFound.includes(error.reason.patTokenError ?? "")
      ) {
        return "not-found";
      }
      throw error;
    }
  }

  private async revokePassword(item: InventoryItem): Promise<UpstreamRevocation> {
    const { applicationObjectId, keyId } = item;
    if (applicationObjectId === undefined || keyId === undefined) return "not-applicable";
    try {
      await this.clients.passwords.removePassword(applicationObjectId, keyId);
      return "revoked";
    } catch (error) {
      if (error instanceof GraphError && error.reason.kind === "not-found") return "not-found";
      throw error;
    }
  }
}

/** Transient upstream trouble is 503 (try again); a refusal is 502 (someone must act). */
function asRevocationError(error: unknown): Error {
  if (error instanceof InventoryError) return error;
  if (error instanceof DevOpsError || error instanceof GraphError) {
    return new InventoryError(error.transient ? "revocation_unavailable" : "revocation_failed");
  }
  if (error instanceof RotatorIdentityError) {
    return new InventoryError(
      error.reason === "unavailable" ? "revocation_unavailable" : "revocation_failed",
    );
  }
  // Vault errors (reading the grant) keep their own meaning.
  return error instanceof Error ? error : new InventoryError("revocation_failed");
}
