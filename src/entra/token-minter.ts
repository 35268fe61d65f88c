import type { TokenCredential } from "@azure/core-auth";

/** Why Entra would not mint: refused will not pass with time, unavailable may. */
export type MintFailure = "entra_refused" | "entra_unavailable";

/**
 * The port through which the domain gets Entra credentials; the @azure/identity adapter
 * (azure-identity-minter.ts) is the one implementation, wired in by the Runtime.
 */
export interface TokenMinter {
  /** A user-assigned managed identity, by client id. */
  managedIdentity(clientId: string): TokenCredential;
  /** An app's client-secret credential; maxRetries 0 for a probe that must see the first answer. */
  clientSecret(
    tenantId: string,
    clientId: string,
    secret: string,
    options: { maxRetries: number },
  ): TokenCredential;
  /** A credential's getToken failure, by class: its message quotes Entra and is never passed on. */
  classify(error: unknown): MintFailure;
}
