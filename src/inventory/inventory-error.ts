import { DomainError } from "../domain-error.js";

/** Why an inventory operation was refused; the HTTP layer turns each code into one problem. */
export type InventoryErrorReason =
  | "not_found"
  | "name_in_use"
  | "credential_deleted"
  | "credential_exists"
  | "kind_mismatch"
  | "invalid_field"
  | "invalid_continuation"
  | "revocation_failed"
  | "revocation_unavailable"
  | "pending_revoke_full";

export class InventoryError extends DomainError<InventoryErrorReason> {
  override name = "InventoryError";
  constructor(
    code: InventoryErrorReason,
    /** For invalid_field: the field and the rule it broke, never its value. */
    readonly field?: { field: string; message: string },
  ) {
    super(code);
  }
}
