import { InventoryError } from "../inventory/inventory-error.js";
import { TAG } from "../inventory/managed-credential.js";
import type { Lease } from "../lease/lease.js";
import { describeError } from "../log.js";
import type { SecretProperties } from "../vault/secret-store.js";
import { revokeDue, rotate } from "./rotate-credential.js";
import { RotationError } from "./rotation-error.js";
import type { RotationContext, RotationOutcome } from "./rotation-types.js";

/**
 * A stored global PAT (Azure DevOps stopped accepting them on 2026-12-01) becomes a PAT for one
 * organization under the same name: a new PAT made there by the rotator's grant, stored, and the
 * global one revoked at once (it works nowhere, so no grace is waited out). One organization per
 * call: a credential holds one PAT; whoever needs more imports or creates them under other names.
 */
export async function migrateGlobalPat(
  ctx: RotationContext,
  current: SecretProperties,
  organization: string | undefined,
  lease: Lease,
): Promise<RotationOutcome> {
  const rotator = ctx.options.rotators.pat;
  if (rotator === undefined) throw new RotationError("kind_not_rotatable", false);
  if (organization === undefined) {
    const organizations = (await rotator.organizations?.()) ?? [];
    throw new InventoryError("organization_required", undefined, { organizations });
  }
  const moved = { ...current, tags: { ...current.tags, [TAG.organization]: organization } };
  const immediate: RotationContext = { ...ctx, options: { ...ctx.options, revokeGraceMinutes: 0 } };
  const outcome = await rotate(immediate, moved, lease);
  try {
    await revokeDue(ctx, current.name, rotator, undefined, lease);
  } catch (error) {
    // Stored all the same: the global PAT waits in pending-revoke and the next sweep revokes it.
    ctx.options.log.warn("rotation.global_pat_revoke_deferred", {
      name: current.name,
      error: describeError(error),
    });
  }
  ctx.options.log.info("rotation.global_pat_migrated", { name: current.name, organization });
  return outcome;
}
