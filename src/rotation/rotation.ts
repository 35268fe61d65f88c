import { TAG, type CredentialKind } from "../inventory/managed-credential.js";
import { formatVerifyPending } from "../inventory/verify-pending.js";
import type { Leased } from "../lease/lease.js";
import { rotateNow } from "./rotate-now.js";
import { RotationError } from "./rotation-error.js";
import { sweep } from "./rotation-sweep.js";
import type { RotationContext, RotationOptions, RotationOutcome, RotationReport } from "./rotation-types.js";
import type { FreshCredential } from "./rotator.js";

export { ROTATION_LEASE } from "./rotation-lease.js";
export type { RotationOptions, RotationOutcome, RotationReport } from "./rotation-types.js";

/**
 * Rotation that never loses the working credential (DESIGN §8): create upstream -> prove it works
 * -> store as a new vault version (the old id goes to `pending-revoke`) -> read it back -> only
 * after the grace period, revoke the old one. Every state between two steps is one the next sweep
 * repairs: an upstream credential with our marker that the vault does not know is revoked, and
 * what waited out its grace is revoked. Sweeps and rotate-now share one lease.
 */
export class Rotation {
  private readonly ctx: RotationContext;

  constructor(options: RotationOptions) {
    this.ctx = { options, step: options.afterStep ?? (() => undefined) };
  }

  /** A credential created upstream for an import without a value: created, proven, not yet stored. */
  async createFor(
    kind: CredentialKind,
    name: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<
    FreshCredential & { upstreamIdTag: string; tags: Record<string, string>; discard: () => Promise<void> }
  > {
    const rotator = this.ctx.options.rotators[kind];
    if (rotator === undefined) throw new RotationError("kind_not_rotatable", false);
    const fresh = await rotator.create(name, tags, this.ctx.step);
    return {
      ...fresh,
      upstreamIdTag: rotator.upstreamIdTag,
      // Not accepted yet, and nothing older to hand out: stored as is, proven (or removed) later.
      tags: {
        [rotator.upstreamIdTag]: fresh.upstreamId.toLowerCase(),
        ...(fresh.pending === true
          ? { [TAG.verifyPending]: formatVerifyPending({ since: this.ctx.options.now() }) }
          : {}),
      },
      discard: () =>
        rotator.revoke(tags, fresh.upstreamId).then(
          () => undefined,
          () => undefined,
        ),
    };
  }

  /** `POST /api/inventory/{name}/rotate`: now, whatever the date, under the sweep's lease. */
  async rotateNow(name: string, request: { organization?: string } = {}): Promise<Leased<RotationOutcome>> {
    const metrics = this.ctx.options.metrics;
    try {
      const result = await rotateNow(this.ctx, name, request);
      if (!result.acquired) metrics?.rotation("lease_busy", 1);
      else metrics?.rotation(result.value.status === "rotated" ? "rotated" : "pending", 1);
      return result;
    } catch (error) {
      // A rotation that went wrong, not a request refused before one began (unknown name, bad field).
      if (error instanceof RotationError) metrics?.rotation("failed", 1);
      throw error;
    }
  }

  /** The timer and `POST /api/sweeps/rotation`. */
  async sweep(trigger: "timer" | "route"): Promise<Leased<RotationReport>> {
    const result = await sweep(this.ctx, trigger);
    const metrics = this.ctx.options.metrics;
    if (metrics !== undefined) {
      if (!result.acquired) {
        metrics.rotation("lease_busy", 1);
      } else {
        const r = result.value;
        metrics.rotation("rotated", r.rotated.length);
        metrics.rotation("pending", r.pending.length);
        metrics.rotation("revoked", r.revoked.length);
        metrics.rotation("orphan_revoked", r.orphansRevoked.length);
        metrics.rotation("skipped", r.skipped.length);
        metrics.rotation("failed", r.failed.length);
      }
    }
    return result;
  }
}
