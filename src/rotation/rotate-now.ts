import { InventoryError } from "../inventory/inventory-error.js";
import { isGlobalPat, TAG, type CredentialKind } from "../inventory/managed-credential.js";
import { migrateGlobalPat } from "./migrate-global-pat.js";
import { parsePending } from "../inventory/pending-revoke.js";
import { parseVerifyPending } from "../inventory/verify-pending.js";
import { withLease, type Leased } from "../lease/lease.js";
import { managedSecret } from "../inventory/vault-lookup.js";
import { revokeDue, rotate } from "./rotate-credential.js";
import { ROTATION_LEASE } from "./rotation-lease.js";
import type { RotationContext, RotationOutcome } from "./rotation-types.js";
import { settle } from "./settle-pending.js";

/** `POST /api/inventory/{name}/rotate`: now, whatever the date, under the sweep's lease. */
export async function rotateNow(
  ctx: RotationContext,
  name: string,
  request: { organization?: string } = {},
): Promise<Leased<RotationOutcome>> {
  return withLease(ctx.options.leases, ROTATION_LEASE, async (lease) => {
    let current = await managedSecret(ctx.options.store, name);
    if (isGlobalPat(current.tags)) return migrateGlobalPat(ctx, current, request.organization, lease);
    const stored = current.tags[TAG.organization];
    if (request.organization !== undefined && request.organization.toLowerCase() !== stored?.toLowerCase()) {
      throw new InventoryError("invalid_field", {
        field: "organization",
        message: "only to migrate a global PAT: a credential's own organization does not change by rotation",
      });
    }
    const rotator = ctx.options.rotators[current.tags[TAG.kind] as CredentialKind];
    if (
      rotator !== undefined &&
      parsePending(current.tags[TAG.pendingRevoke]).some((p) => p.after <= ctx.options.now())
    ) {
      // Make room in pending-revoke first: what waited out its grace goes now.
      await revokeDue(ctx, name, rotator, undefined, lease);
      current = await ctx.options.store.getProperties(name);
    }
    // A new secret still waiting for Entra is checked again, not replaced by yet another one.
    if (rotator !== undefined && parseVerifyPending(current.tags[TAG.verifyPending]) !== undefined) {
      const settled = await settle(ctx, current, rotator, lease);
      if (settled !== undefined) return settled;
      current = await ctx.options.store.getProperties(name);
    }
    return rotate(ctx, current, lease);
  });
}
