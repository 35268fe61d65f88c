/**
 * The one lease for changing managed credentials: sweeps, rotate-now and inventory writes. A sweep
 * must not see a credential half-made (and revoke it as an orphan), nor two writers overwrite each
 * other's tags.
 */
export const ROTATION_LEASE = "rotation";
