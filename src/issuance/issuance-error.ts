import { DomainError } from "../domain-error.js";

/** Why a credential could not be issued; the HTTP layer maps each code to one problem. */
export type IssuanceFailure =
  "credential_disabled" | "credential_expired" | "credential_invalid" | "entra_refused" | "entra_unavailable";

export class IssuanceError extends DomainError<IssuanceFailure> {
  override name = "IssuanceError";
}
