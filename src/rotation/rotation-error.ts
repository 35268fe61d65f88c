/**
 * Why a rotation did not happen, as a short code (kept in the credential's `rotation-error` tag and
 * in sweep reports): never upstream text, never a value.
 */
export class RotationError extends Error {
  override name = "RotationError";
  constructor(
    readonly code: string,
    /** Worth trying again on the next sweep without anyone acting. */
    readonly transient: boolean,
  ) {
    super(`rotation failed: ${code}`);
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
