/** Why a credential could not be issued; the HTTP layer maps each reason to one problem. */
export type IssuanceFailure =
  "credential_disabled" | "credential_expired" | "credential_invalid" | "entra_refused" | "entra_unavailable";

export class IssuanceError extends Error {
  override name = "IssuanceError";
  constructor(readonly reason: IssuanceFailure) {
    super(reason);
  }
}
