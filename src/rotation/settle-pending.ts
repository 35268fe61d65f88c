import { CONTENT_TYPES, TAG, type CredentialKind } from "../inventory/managed-credential.js";
import { newValueTags } from "../inventory/new-value.js";
import { parseVerifyPending } from "../inventory/verify-pending.js";
import type { Lease } from "../lease/lease.js";
import type { SecretProperties } from "../vault/secret-store.js";
import { requireLease } from "./rotate-credential.js";
import { RotationError } from "./rotation-error.js";
import type { RotationContext, RotationOutcome } from "./rotation-types.js";
import type { Rotator } from "./rotator.js";

/**
 * One pass over a version pending verification: one quick request with its secret. Accepted: it
 * is promoted (the proven one it replaces waits out the grace in `pending-revoke`). Refused
 * within BROKER_SECRET_VERIFY_MINUTES: it stays pending. Refused after: it is removed upstream,
 * the proven secret is written back as the current version, and the failure is reported
 * (`rotation-error`). Every step is repeatable, so a crash between two is finished by the next
 * pass. Undefined when the version is not (or no longer) pending.
 */
export async function settle(
  ctx: RotationContext,
  current: SecretProperties,
  rotator: Rotator,
  lease: Lease,
): Promise<RotationOutcome | undefined> {
  const { name } = current;
  const verifying = parseVerifyPending(current.tags[TAG.verifyPending]);
  if (verifying === undefined || rotator.accepts === undefined) return undefined;
  const candidate = await ctx.options.store.getSecret(name);
  // Written in between (an import): that version is current now; the next pass looks at it.
  if (candidate.version !== current.version) return undefined;
  const verdict = await rotator.accepts(current.tags, candidate.value);
  const now = ctx.options.now();
  const version = current.version;
  if (verdict === "accepted") {
    const tags = newValueTags(current.tags, {
      replaced: [verifying.proven?.id],
      now,
      graceMs: ctx.options.revokeGraceMinutes * 60_000,
      promoted: true,
    });
    // Never forget the proven one to make room: promote once the grace of another has passed.
    if (tags === undefined) throw new RotationError("pending_revoke_full", true);
    requireLease(lease);
    await ctx.options.store.updateProperties(name, version, { tags });
    await ctx.step("promoted", name);
    ctx.options.log.info("rotation.rotated", {
      name,
      kind: current.tags[TAG.kind],
      version,
      expiresOn: current.expiresOn?.toISOString(),
      verifiedAfterMs: now - verifying.since,
    });
    return { name, version, status: "rotated" };
  }
  if (verdict === "unavailable") throw new RotationError("secret_verify_unavailable", true);
  if (now - verifying.since < ctx.options.secretVerifyMinutes * 60_000) {
    return {
      name,
      version,
      status: "pending-verification",
      pendingSince: new Date(verifying.since).toISOString(),
    };
  }
  // Refused for the whole window: remove it upstream (gone already after a crash is fine) ...
  const upstreamId = current.tags[rotator.upstreamIdTag];
  requireLease(lease);
  if (upstreamId !== undefined) {
    try {
      await rotator.revoke(current.tags, upstreamId);
    } catch (error) {
      // Removed already (a crash after this step) may be answered as an error, not not-found:
      // carry on only if upstream no longer lists it.
      const live = await rotator.marked([current]);
      if (live.some((m) => m.upstreamId.toLowerCase() === upstreamId.toLowerCase())) throw error;
    }
  }
  await ctx.step("discarded", name);
  // ... and make the proven secret current again, with the metadata as it is now.
  const tags: Record<string, string> = { ...current.tags, [TAG.rotationError]: "new_secret_not_accepted" };
  // The proven value comes back: not a new credential, so no creation notice is owed for it.
  for (const stale of [TAG.verifyPending, TAG.noticeSentFor, TAG.createdNotice]) {
    Reflect.deleteProperty(tags, stale);
  }
  requireLease(lease);
  if (verifying.proven !== undefined) {
    const proven = await ctx.options.store.getSecret(name, verifying.proven.version);
    if (verifying.proven.id !== undefined) tags[rotator.upstreamIdTag] = verifying.proven.id;
    else Reflect.deleteProperty(tags, rotator.upstreamIdTag);
    const rotatedOn = proven.tags[TAG.rotatedOn];
    if (rotatedOn !== undefined) tags[TAG.rotatedOn] = rotatedOn;
    else Reflect.deleteProperty(tags, TAG.rotatedOn);
    await ctx.options.store.setSecret(name, proven.value, {
      contentType: proven.contentType ?? CONTENT_TYPES[current.tags[TAG.kind] as CredentialKind],
      expiresOn: proven.expiresOn,
      tags,
    });
  } else {
    // A credential the broker created: nothing older to go back to; ops must act.
    await ctx.options.store.updateProperties(name, version, { tags });
  }
  await ctx.step("restored", name);
  ctx.options.log.warn("rotation.secret_not_accepted", {
    name,
    windowMinutes: ctx.options.secretVerifyMinutes,
    restored: verifying.proven !== undefined,
  });
  throw new RotationError("new_secret_not_accepted", false);
}
