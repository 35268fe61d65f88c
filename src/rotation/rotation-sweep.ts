import { isManaged, TAG, type CredentialKind } from "../inventory/managed-credential.js";
import { parsePending } from "../inventory/pending-revoke.js";
import { parseVerifyPending } from "../inventory/verify-pending.js";
import { withLease, type Lease, type Leased } from "../lease/lease.js";
import { describeError } from "../log.js";
import { allSecrets, type SecretProperties } from "../vault/secret-store.js";
import { checkGrant } from "./grant-check.js";
import { revokeOrphans } from "./orphan-repair.js";
import { revokeDue, rotate } from "./rotate-credential.js";
import { RotationError, SimulatedCrash } from "./rotation-error.js";
import { ROTATION_LEASE } from "./rotation-lease.js";
import type { RotationContext, RotationOutcome, RotationReport } from "./rotation-types.js";
import { settle } from "./settle-pending.js";
import { DAY_MS } from "./rotator.js";

/** The timer and `POST /api/sweeps/rotation`. */
export async function sweep(
  ctx: RotationContext,
  trigger: "timer" | "route",
): Promise<Leased<RotationReport>> {
  const outcome = await withLease(ctx.options.leases, ROTATION_LEASE, async (lease) => {
    const report: RotationReport = {
      rotated: [],
      pending: [],
      revoked: [],
      orphansRevoked: [],
      skipped: [],
      failed: [],
      checked: 0,
    };
    const managed = await listManaged(ctx);
    report.checked = managed.length;
    ctx.options.onListed?.(managed);
    const known = new Set<string>();
    for (const p of managed) {
      if (lease.lost()) break;
      await tend(ctx, p, report, known, lease);
    }
    if (!lease.lost()) await revokeOrphans(ctx, managed, known, report);
    if (!lease.lost() && ctx.options.drift !== undefined) {
      // The first listing and the ids this sweep wrote since: no second pass over the vault.
      report.drift = await ctx.options.drift.run(managed, known);
    }
    return report;
  });
  if (outcome.acquired) {
    const r = outcome.value;
    ctx.options.log.info("rotation.sweep", {
      trigger,
      checked: r.checked,
      rotated: r.rotated.length,
      pending: r.pending.length,
      revoked: r.revoked.length,
      orphansRevoked: r.orphansRevoked.length,
      failed: r.failed.map((f) => `${f.name}:${f.reason}`),
      ...(r.drift !== undefined
        ? {
            drift: {
              unmanagedPats: r.drift.unmanagedPats,
              unmanagedPasswords: r.drift.unmanagedPasswords,
              missingUpstream: r.drift.missingUpstream,
              notified: r.drift.notified,
            },
          }
        : {}),
    });
  } else {
    ctx.options.log.info("rotation.sweep_skipped", { trigger, reason: "another sweep holds the lease" });
  }
  return outcome;
}

async function listManaged(ctx: RotationContext): Promise<SecretProperties[]> {
  const managed: SecretProperties[] = [];
  for await (const p of allSecrets(ctx.options.store)) if (isManaged(p.tags)) managed.push(p);
  return managed;
}

/** One credential in a sweep: revoke what waited out its grace, rotate what is due. */
async function tend(
  ctx: RotationContext,
  listed: SecretProperties,
  report: RotationReport,
  known: Set<string>,
  lease: Lease,
): Promise<void> {
  const { name, tags } = listed;
  const kind = tags[TAG.kind] as CredentialKind;
  const rotator = ctx.options.rotators[kind];
  const now = ctx.options.now();
  const pending = parsePending(tags[TAG.pendingRevoke]);
  const verifying = parseVerifyPending(tags[TAG.verifyPending]);
  // The proven secret of a version pending verification is live and handed out: never an orphan.
  for (const id of [tags[rotator?.upstreamIdTag ?? ""], ...pending.map((p) => p.id), verifying?.proven?.id]) {
    if (id !== undefined) known.add(id.toLowerCase());
  }
  if (kind === "refresh-token" && listed.enabled) {
    await checkGrant(ctx, listed, report);
    return;
  }
  if (rotator === undefined) return;
  try {
    // Replaced credentials are revoked after their grace even if this one was disabled since.
    if (pending.some((p) => p.after <= now)) await revokeDue(ctx, name, rotator, report, lease);
    if (verifying !== undefined) {
      const settled = await settle(ctx, await ctx.options.store.getProperties(name), rotator, lease);
      if (settled !== undefined) record(settled, report);
      // Settled or not, one step per sweep: a restored credential rotates again on the next one.
      return;
    }
    const due =
      listed.enabled &&
      tags[TAG.rotation] === "auto" &&
      listed.expiresOn !== undefined &&
      listed.expiresOn.getTime() - now <= ctx.options.rotateBeforeDays * DAY_MS;
    if (!due) return;
    const current = await ctx.options.store.getProperties(name);
    record(await rotate(ctx, current, lease, known), report);
  } catch (error) {
    if (error instanceof SimulatedCrash) throw error;
    const reason = error instanceof RotationError ? error.code : "vault_error";
    report.failed.push({ name, reason });
    if (!(error instanceof RotationError)) {
      ctx.options.log.error("rotation.failed", { name, error: describeError(error) });
    }
  }
}

function record(outcome: RotationOutcome, report: RotationReport): void {
  if (outcome.status === "rotated") report.rotated.push({ name: outcome.name, version: outcome.version });
  else report.pending.push({ name: outcome.name, version: outcome.version, since: outcome.pendingSince });
}
