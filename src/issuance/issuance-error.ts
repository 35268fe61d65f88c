import { DomainError } from "../domain-error.js";

/** Why a credential could not be issued; the HTTP layer maps each code to one problem. */
export type IssuanceFailure =
  | "credential_disabled"
  | "credential_expired"
  | "credential_invalid"
  /** A global PAT: Azure DevOps retired them (2026-12-01); migrate it to one organization. */
  | "credential_retired"
  | "entra_refused"
  | "entra_unavailable";

export class IssuanceError extends DomainError<IssuanceFailure> {
  override name = "IssuanceError";
}
