import type { DevOpsErrorReason, DevOpsOperation } from "../devops/devops-error.js";
import type { RotatorFailure } from "../devops/rotator-identity.js";
import { DomainError } from "../domain-error.js";
import type { GraphErrorReason, GraphOperation } from "../graph/graph-error.js";

/** Our codes for a rotation that did not happen; upstream failures are named by operation and kind. */
export type RotationErrorCode =
  // Ownership refusals (password-ownership.ts): the broker does not touch a password not its own.
  | "application_not_managed"
  | "client_id_mismatch"
  | "password_not_ours"
  | "no_rotator_grant"
  | "full_scope_refused"
  | "missing_rotation_settings"
  | "new_pat_not_accepted"
  | "no_organization"
  | "no_application"
  | "kind_not_rotatable"
  | "pending_revoke_full"
  | "secret_verify_unavailable"
  | "new_secret_not_accepted"
  | "read_back_mismatch"
  | "lease_lost"
  // A rejected PAT call adds Azure DevOps' own patTokenError name or the status.
  | `devops_${DevOpsOperation}_${DevOpsErrorReason["kind"]}${string}`
  | `graph_${GraphOperation}_${GraphErrorReason["kind"]}`
  | `rotator_grant_${RotatorFailure}`;

/**
 * Why a rotation did not happen, as a short code (kept in the credential's `rotation-error` tag and
 * in sweep reports): never upstream text, never a value.
 */
export class RotationError extends DomainError<RotationErrorCode> {
  override name = "RotationError";
  constructor(
    code: RotationErrorCode,
    /** Worth trying again on the next sweep without anyone acting. */
    readonly transient: boolean,
  ) {
    super(code, `rotation failed: ${code}`);
  }
}

/** Test hook: a process "dies" after a step; nothing compensates, as after a real crash. */
export class SimulatedCrash extends Error {
  override name = "SimulatedCrash";
}

export type RotationStep =
  | "created"
  | "verified"
  | "stored"
  | "read-back"
  | "revoked"
  // A client secret stored pending verification: proven later, or removed and the proven one restored.
  | "promoted"
  | "discarded"
  | "restored";
export type StepHook = (step: RotationStep, credential: string) => void | Promise<void>;
