import { TAG } from "../inventory/managed-credential.js";
import type { SecretProperties } from "../vault/secret-store.js";
import { markFailed } from "./rotate-credential.js";
import { RotationError } from "./rotation-error.js";
import type { RotationContext, RotationReport } from "./rotation-types.js";

/**
 * The rotator's own identity is watched: each sweep redeems every grant, so a withdrawn consent
 * shows as `rotation-failed` (and raises a notice) before any PAT it serves runs out.
 */
export async function checkGrant(
  ctx: RotationContext,
  listed: SecretProperties,
  report: RotationReport,
): Promise<void> {
  const { probeGrant } = ctx.options;
  if (probeGrant === undefined) return;
  const { name } = listed;
  try {
    await probeGrant(name);
    if (listed.tags[TAG.rotationError] !== undefined) {
      const current = await ctx.options.store.getProperties(name);
      const tags = { ...current.tags };
      Reflect.deleteProperty(tags, TAG.rotationError);
      await ctx.options.store.updateProperties(name, current.version, { tags });
    }
  } catch (error) {
    const reason = error instanceof RotationError ? error.code : "vault_error";
    report.failed.push({ name, reason });
    if (error instanceof RotationError && listed.tags[TAG.rotationError] !== reason) {
      await markFailed(ctx, await ctx.options.store.getProperties(name), reason);
    }
  }
}
