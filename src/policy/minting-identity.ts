/**
 * Two identities, never confused (DESIGN §10). The control identity (AZURE_CLIENT_ID, or the
 * system-assigned one when that is unset) holds the vault, storage and Graph: a token for it
 * handed to a caller would open all three. `managed-identity` profiles mint with a separate
 * minting identity: the profile's own `clientId`, else BROKER_MINTING_CLIENT_ID.
 */
export interface BrokerIdentities {
  /** AZURE_CLIENT_ID; undefined when the control identity is the system-assigned one. */
  controlClientId: string | undefined;
  /** BROKER_MINTING_CLIENT_ID. */
  mintingClientId: string | undefined;
}

export type MintingResolution =
  | { ok: true; clientId: string }
  | { ok: false; field: "credential" | "credential.clientId"; message: string };

/** The client id a managed-identity profile mints with, or why it may not mint at all. */
export function resolveMintingClientId(
  profileClientId: string | undefined,
  identities: BrokerIdentities,
): MintingResolution {
  const clientId = profileClientId ?? identities.mintingClientId;
  if (clientId === undefined) {
    const control =
      identities.controlClientId === undefined
        ? "the system-assigned identity (the broker's control identity while AZURE_CLIENT_ID is unset)"
        : "the broker's control identity (AZURE_CLIENT_ID)";
    return {
      ok: false,
      field: "credential",
      message: `a managed-identity profile needs a clientId, or BROKER_MINTING_CLIENT_ID set: without one it would mint as ${control}, which opens the vault`,
    };
  }
  const control = identities.controlClientId;
  if (control !== undefined && clientId.toLowerCase() === control.toLowerCase()) {
    return {
      ok: false,
      field: profileClientId !== undefined ? "credential.clientId" : "credential",
      message: `resolves to the broker's control identity (AZURE_CLIENT_ID${profileClientId === undefined ? ", through BROKER_MINTING_CLIENT_ID" : ""}), which opens the vault, storage and Graph: mint with a separate identity`,
    };
  }
  return { ok: true, clientId: clientId.toLowerCase() };
}
