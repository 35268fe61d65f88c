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
  | "pending_revoke_full"
  /** Azure DevOps refused the PAT value for its organization: nothing was stored. */
  | "pat_rejected"
  /** Azure DevOps knows no such organization: nothing was stored. */
  | "organization_not_found"
  /** Azure DevOps could not tell (down, throttled, odd answer): nothing was stored, try again. */
  | "pat_check_unavailable"
  /** Azure DevOps refused the broker's check itself: nothing was stored. */
  | "pat_check_failed"
  /** A global PAT (`allOrgs`): Azure DevOps retired them; none authenticates since 2026-12-01. */
  | "global_pat_retired"
  /** Migrating a stored global PAT needs the organization to make its successor for. */
  | "organization_required";

export class InventoryError extends DomainError<InventoryErrorReason> {
  override name = "InventoryError";
  constructor(
    code: InventoryErrorReason,
    /** For invalid_field: the field and the rule it broke, never its value. */
    readonly field?: { field: string; message: string },
    /** For the PAT checks: the (validated) organization asked, and how long to wait after an outage. */
    readonly context: {
      organization?: string;
      retryAfterSeconds?: number | undefined;
      /** For organization_required: the organizations the rotator's grants serve. */
      organizations?: readonly string[];
    } = {},
  ) {
    super(code);
  }
}
