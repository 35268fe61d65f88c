import { TAG } from "../inventory/managed-credential.js";
import type { SecretProperties } from "../vault/secret-store.js";
import { RotationError } from "./rotation-error.js";
import type { RotationContext, RotationReport } from "./rotation-types.js";

// Orphan repair: an upstream credential with our marker that the vault does not know (a crash
// between create and store) is revoked once it is old enough not to belong to a write under way.

function orphanMinAgeMs(ctx: RotationContext): number {
  return ctx.options.orphanMinAgeMs ?? Math.max(ctx.options.revokeGraceMinutes * 60_000, 10 * 60_000);
}

/** Upstream credentials with our marker that the vault does not know: left by a crash, revoked. */
export async function revokeOrphans(
  ctx: RotationContext,
  managed: readonly SecretProperties[],
  known: Set<string>,
  report: RotationReport,
): Promise<void> {
  for (const [kind, rotator] of Object.entries(ctx.options.rotators)) {
    // PAT orphans are looked for in the organizations of PATs and grants alike.
    const ofKind = managed.filter(
      (p) => p.tags[TAG.kind] === kind || (kind === "pat" && p.tags[TAG.kind] === "refresh-token"),
    );
    if (ofKind.length === 0) continue;
    let marked;
    try {
      marked = await rotator.marked(ofKind);
    } catch (error) {
      report.failed.push({
        name: `(${kind} orphans)`,
        reason: error instanceof RotationError ? error.code : "error",
      });
      continue;
    }
    const youngest = ctx.options.now() - orphanMinAgeMs(ctx);
    for (const m of marked) {
      if (known.has(m.upstreamId.toLowerCase()) || m.createdAt > youngest) continue;
      try {
        await m.revoke();
        report.orphansRevoked.push({ name: m.credential, upstreamId: m.upstreamId });
      } catch (error) {
        report.failed.push({
          name: m.credential,
          reason: error instanceof RotationError ? error.code : "orphan_revoke_failed",
        });
      }
    }
  }
}
