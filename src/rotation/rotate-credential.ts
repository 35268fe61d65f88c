import { createHash } from "node:crypto";
import { CONTENT_TYPES, TAG, type CredentialKind } from "../inventory/managed-credential.js";
import { newValueTags } from "../inventory/new-value.js";
import { formatPending, MAX_PENDING, parsePending } from "../inventory/pending-revoke.js";
import { formatVerifyPending } from "../inventory/verify-pending.js";
import type { Lease } from "../lease/lease.js";
import { describeError } from "../log.js";
import type { SecretProperties } from "../vault/secret-store.js";
import { RotationError, SimulatedCrash } from "./rotation-error.js";
import type { RotationContext, RotationOutcome, RotationReport } from "./rotation-types.js";
import type { FreshCredential, Rotator } from "./rotator.js";

// The steps a sweep and rotate-now share: rotate one credential, record a failure, revoke what
// waited out its grace.

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Another holder may have the lease now: stop before the next write. */
export function requireLease(lease: Lease): void {
  if (lease.lost()) throw new RotationError("lease_lost", true);
}

/**
 * Create, prove, store, read back; the old upstream id waits out the grace in `pending-revoke`.
 * A new client secret Entra does not accept yet is stored all the same, pending verification:
 * its `verify-pending` tag names the current (proven) version, which is handed out until a later
 * pass promotes the new one, and whose upstream id stays live until then.
 */
export async function rotate(
  ctx: RotationContext,
  current: SecretProperties,
  lease: Lease,
  known?: Set<string>,
): Promise<RotationOutcome> {
  const { name } = current;
  const kind = current.tags[TAG.kind] as CredentialKind;
  const rotator = ctx.options.rotators[kind];
  if (rotator === undefined) throw new RotationError("kind_not_rotatable", false);
  if (parsePending(current.tags[TAG.pendingRevoke]).length >= MAX_PENDING) {
    // Never forget an old credential to make room: rotate again once the grace has passed.
    throw new RotationError("pending_revoke_full", true);
  }
  let fresh: FreshCredential;
  try {
    fresh = await rotator.create(name, current.tags, ctx.step);
  } catch (error) {
    if (error instanceof RotationError) await markFailed(ctx, current, error.code);
    throw error;
  }
  known?.add(fresh.upstreamId.toLowerCase());
  const now = ctx.options.now();
  const oldId = current.tags[rotator.upstreamIdTag];
  let tags: Record<string, string>;
  if (fresh.pending === true) {
    // The old one stays what callers get (and live upstream) until the new one is proven.
    tags = {
      ...current.tags,
      [rotator.upstreamIdTag]: fresh.upstreamId.toLowerCase(),
      [TAG.verifyPending]: formatVerifyPending({
        since: now,
        proven: { version: current.version, ...(oldId !== undefined ? { id: oldId } : {}) },
      }),
    };
    Reflect.deleteProperty(tags, TAG.noticeSentFor);
    Reflect.deleteProperty(tags, TAG.createdNotice);
  } else {
    // Room was checked before creating it: the old id always fits.
    const stored = newValueTags(
      { ...current.tags, [rotator.upstreamIdTag]: fresh.upstreamId.toLowerCase() },
      { replaced: [oldId], now, graceMs: ctx.options.revokeGraceMinutes * 60_000 },
    );
    if (stored === undefined) throw new RotationError("pending_revoke_full", true);
    tags = stored;
  }
  let written: SecretProperties;
  try {
    // Another holder may have the lease now: it could revoke this credential as an orphan.
    requireLease(lease);
    written = await ctx.options.store.setSecret(name, fresh.value, {
      contentType: CONTENT_TYPES[kind],
      expiresOn: fresh.expiresOn,
      tags,
    });
  } catch (error) {
    if (!(error instanceof SimulatedCrash)) {
      await rotator.revoke(current.tags, fresh.upstreamId).catch(() => undefined);
    }
    throw error;
  }
  await ctx.step("stored", name);
  const back = await ctx.options.store.getSecret(name);
  if (back.version !== written.version || sha256(back.value) !== sha256(fresh.value)) {
    // Someone wrote in between: their version is current; ours waits in the history, unused.
    throw new RotationError("read_back_mismatch", true);
  }
  await ctx.step("read-back", name);
  // Once per version, here: a version pending verification is not announced again when promoted.
  await ctx.options.announce?.(written, { type: "rotation" });
  if (fresh.pending === true) {
    ctx.options.log.info("rotation.pending_verification", {
      name,
      kind,
      version: written.version,
      windowMinutes: ctx.options.secretVerifyMinutes,
    });
    return {
      name,
      version: written.version,
      status: "pending-verification",
      pendingSince: new Date(Math.floor(now / 1000) * 1000).toISOString(),
    };
  }
  ctx.options.log.info("rotation.rotated", {
    name,
    kind,
    version: written.version,
    expiresOn: fresh.expiresOn.toISOString(),
  });
  return { name, version: written.version, status: "rotated" };
}

/** The failure shows in the inventory (`rotation-failed`) and raises a notice at once. */
export async function markFailed(
  ctx: RotationContext,
  current: SecretProperties,
  code: string,
): Promise<void> {
  try {
    // Tags as they are now: an admin's or the notice sweep's write since `current` must stay.
    const now = await ctx.options.store.getProperties(current.name);
    if (now.version !== current.version) return;
    await ctx.options.store.updateProperties(now.name, now.version, {
      tags: { ...now.tags, [TAG.rotationError]: code.slice(0, 256) },
    });
  } catch (error) {
    ctx.options.log.error("rotation.mark_failed", { name: current.name, error: describeError(error) });
  }
}

/** Revokes the pending ids whose grace has passed, then drops them from the current version's tag. */
export async function revokeDue(
  ctx: RotationContext,
  name: string,
  rotator: Rotator,
  report: RotationReport | undefined,
  lease: Lease,
): Promise<void> {
  const current = await ctx.options.store.getProperties(name);
  const now = ctx.options.now();
  const pending = parsePending(current.tags[TAG.pendingRevoke]);
  const done = new Set<string>();
  for (const entry of pending.filter((p) => p.after <= now)) {
    requireLease(lease);
    const outcome = await rotator.revoke(current.tags, entry.id);
    await ctx.step("revoked", name);
    report?.revoked.push({ name, upstreamId: entry.id, outcome });
    done.add(entry.id);
  }
  const rest = formatPending(pending.filter((p) => !done.has(p.id)));
  const tags = { ...current.tags };
  if (rest === undefined) Reflect.deleteProperty(tags, TAG.pendingRevoke);
  else tags[TAG.pendingRevoke] = rest;
  await ctx.options.store.updateProperties(name, current.version, { tags });
}
