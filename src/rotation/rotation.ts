import { createHash } from "node:crypto";
import { CONTENT_TYPES, isManaged, TAG, type CredentialKind } from "../inventory/managed-credential.js";
import { InventoryError } from "../inventory/inventory-error.js";
import { withLease, type Lease, type LeaseProvider, type Leased } from "../lease/lease.js";
import { describeError, type Logger } from "../log.js";
import {
  allSecrets,
  SecretNotFoundError,
  type SecretProperties,
  type SecretStore,
} from "../vault/secret-store.js";
import { formatPending, MAX_PENDING, parsePending } from "../inventory/pending-revoke.js";
import { formatVerifyPending, parseVerifyPending } from "../inventory/verify-pending.js";
import { keepVerified } from "./password-ownership.js";
import { RotationError, SimulatedCrash, type StepHook } from "./rotation-error.js";
import { DAY_MS, type FreshCredential, type Rotator } from "./rotator.js";

/** What a sweep did, by name and reason only: never a value. */
export interface RotationReport {
  rotated: { name: string; version: string }[];
  /** New client secrets stored but not yet accepted by Entra: the proven ones are handed out meanwhile. */
  pending: { name: string; version: string; since: string }[];
  revoked: { name: string; upstreamId: string; outcome: "revoked" | "not-found" }[];
  orphansRevoked: { name: string; upstreamId: string }[];
  skipped: { name: string; reason: string }[];
  failed: { name: string; reason: string }[];
  checked: number;
}

export interface RotationOptions {
  store: SecretStore;
  leases: LeaseProvider;
  rotators: Partial<Record<CredentialKind, Rotator>>;
  log: Logger;
  now: () => number;
  rotateBeforeDays: number;
  revokeGraceMinutes: number;
  /** A new client secret Entra still refuses this long after it was stored is removed (BROKER_SECRET_VERIFY_MINUTES). */
  secretVerifyMinutes: number;
  /** Told what a sweep listed (the rotator identity learns its grants from it, not from a second listing). */
  onListed?: (managed: readonly SecretProperties[]) => void;
  /** Redeems a rotator grant (a refresh-token credential); throws RotationError when it no longer works. */
  probeGrant?: (name: string) => Promise<void>;
  /** Test hook: called after each step; a SimulatedCrash thrown there is a process dying. */
  afterStep?: StepHook;
  /**
   * An upstream credential with our marker that the vault does not know is revoked only once it is
   * this old: younger, it may belong to a rotation or import still under way (default: the grace
   * period, at least 10 minutes).
   */
  orphanMinAgeMs?: number;
}

export const ROTATION_LEASE = "rotation";

/** What a rotation or a verification pass left: rotated (proven, current), or stored pending verification. */
export type RotationOutcome =
  | { name: string; version: string; status: "rotated" }
  | { name: string; version: string; status: "pending-verification"; pendingSince: string };

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * Rotation that never loses the working credential (DESIGN §8): create upstream -> prove it works
 * -> store as a new vault version (the old id goes to `pending-revoke`) -> read it back -> only
 * after the grace period, revoke the old one. Every state between two steps is one the next sweep
 * repairs: an upstream credential with our marker that the vault does not know is revoked, and
 * what waited out its grace is revoked. Sweeps and rotate-now share one lease.
 */
export class Rotation {
  private readonly step: StepHook;

  constructor(private readonly options: RotationOptions) {
    this.step = options.afterStep ?? (() => undefined);
  }

  private orphanMinAgeMs(): number {
    return this.options.orphanMinAgeMs ?? Math.max(this.options.revokeGraceMinutes * 60_000, 10 * 60_000);
  }

  /** A credential created upstream for an import without a value: created, proven, not yet stored. */
  async createFor(
    kind: CredentialKind,
    name: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<
    FreshCredential & { upstreamIdTag: string; tags: Record<string, string>; discard: () => Promise<void> }
  > {
    const rotator = this.options.rotators[kind];
    if (rotator === undefined) throw new RotationError("kind_not_rotatable", false);
    const fresh = await rotator.create(name, tags, this.step);
    return {
      ...fresh,
      upstreamIdTag: rotator.upstreamIdTag,
      // Not accepted yet, and nothing older to hand out: stored as is, proven (or removed) later.
      tags: {
        [rotator.upstreamIdTag]: fresh.upstreamId.toLowerCase(),
        ...(fresh.pending === true
          ? { [TAG.verifyPending]: formatVerifyPending({ since: this.options.now() }) }
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
  async rotateNow(name: string): Promise<Leased<RotationOutcome>> {
    return withLease(this.options.leases, ROTATION_LEASE, async (lease) => {
      let current: SecretProperties;
      try {
        current = await this.options.store.getProperties(name);
      } catch (error) {
        throw error instanceof SecretNotFoundError ? new InventoryError("not_found") : error;
      }
      if (!isManaged(current.tags)) throw new InventoryError("not_found");
      const rotator = this.options.rotators[current.tags[TAG.kind] as CredentialKind];
      if (
        rotator !== undefined &&
        parsePending(current.tags[TAG.pendingRevoke]).some((p) => p.after <= this.options.now())
      ) {
        // Make room in pending-revoke first: what waited out its grace goes now.
        await this.revokeDue(name, rotator, undefined, lease);
        current = await this.options.store.getProperties(name);
      }
      // A new secret still waiting for Entra is checked again, not replaced by yet another one.
      if (rotator !== undefined && parseVerifyPending(current.tags[TAG.verifyPending]) !== undefined) {
        const settled = await this.settle(current, rotator, lease);
        if (settled !== undefined) return settled;
        current = await this.options.store.getProperties(name);
      }
      return this.rotate(current, lease);
    });
  }

  /** The timer and `POST /api/sweeps/rotation`. */
  async sweep(trigger: "timer" | "route"): Promise<Leased<RotationReport>> {
    const outcome = await withLease(this.options.leases, ROTATION_LEASE, async (lease) => {
      const report: RotationReport = {
        rotated: [],
        pending: [],
        revoked: [],
        orphansRevoked: [],
        skipped: [],
        failed: [],
        checked: 0,
      };
      const managed: SecretProperties[] = [];
      for await (const p of allSecrets(this.options.store)) if (isManaged(p.tags)) managed.push(p);
      report.checked = managed.length;
      this.options.onListed?.(managed);
      const known = new Set<string>();
      for (const p of managed) {
        if (lease.lost()) break;
        await this.tend(p, report, known, lease);
      }
      if (!lease.lost()) await this.revokeOrphans(managed, known, report);
      return report;
    });
    if (outcome.acquired) {
      const r = outcome.value;
      this.options.log.info("rotation.sweep", {
        trigger,
        checked: r.checked,
        rotated: r.rotated.length,
        pending: r.pending.length,
        revoked: r.revoked.length,
        orphansRevoked: r.orphansRevoked.length,
        failed: r.failed.map((f) => `${f.name}:${f.reason}`),
      });
    } else {
      this.options.log.info("rotation.sweep_skipped", { trigger, reason: "another sweep holds the lease" });
    }
    return outcome;
  }

  /** One credential in a sweep: revoke what waited out its grace, rotate what is due. */
  private async tend(
    listed: SecretProperties,
    report: RotationReport,
    known: Set<string>,
    lease: Lease,
  ): Promise<void> {
    const { name, tags } = listed;
    const kind = tags[TAG.kind] as CredentialKind;
    const rotator = this.options.rotators[kind];
    const now = this.options.now();
    const pending = parsePending(tags[TAG.pendingRevoke]);
    const verifying = parseVerifyPending(tags[TAG.verifyPending]);
    // The proven secret of a version pending verification is live and handed out: never an orphan.
    for (const id of [
      tags[rotator?.upstreamIdTag ?? ""],
      ...pending.map((p) => p.id),
      verifying?.proven?.id,
    ]) {
      if (id !== undefined) known.add(id.toLowerCase());
    }
    if (kind === "refresh-token" && listed.enabled) {
      await this.checkGrant(listed, report);
      return;
    }
    if (rotator === undefined) return;
    try {
      // Replaced credentials are revoked after their grace even if this one was disabled since.
      if (pending.some((p) => p.after <= now)) await this.revokeDue(name, rotator, report, lease);
      if (verifying !== undefined) {
        const settled = await this.settle(await this.options.store.getProperties(name), rotator, lease);
        if (settled !== undefined) this.record(settled, report);
        // Settled or not, one step per sweep: a restored credential rotates again on the next one.
        return;
      }
      const due =
        listed.enabled &&
        tags[TAG.rotation] === "auto" &&
        listed.expiresOn !== undefined &&
        listed.expiresOn.getTime() - now <= this.options.rotateBeforeDays * DAY_MS;
      if (!due) return;
      const current = await this.options.store.getProperties(name);
      this.record(await this.rotate(current, lease, known), report);
    } catch (error) {
      if (error instanceof SimulatedCrash) throw error;
      const reason = error instanceof RotationError ? error.code : "vault_error";
      report.failed.push({ name, reason });
      if (!(error instanceof RotationError)) {
        this.options.log.error("rotation.failed", { name, error: describeError(error) });
      }
    }
  }

  private record(outcome: RotationOutcome, report: RotationReport): void {
    if (outcome.status === "rotated") report.rotated.push({ name: outcome.name, version: outcome.version });
    else report.pending.push({ name: outcome.name, version: outcome.version, since: outcome.pendingSince });
  }

  /**
   * One pass over a version pending verification: one quick request with its secret. Accepted: it
   * is promoted (the proven one it replaces waits out the grace in `pending-revoke`). Refused
   * within BROKER_SECRET_VERIFY_MINUTES: it stays pending. Refused after: it is removed upstream,
   * the proven secret is written back as the current version, and the failure is reported
   * (`rotation-error`). Every step is repeatable, so a crash between two is finished by the next
   * pass. Undefined when the version is not (or no longer) pending.
   */
  private async settle(
    current: SecretProperties,
    rotator: Rotator,
    lease: Lease,
  ): Promise<RotationOutcome | undefined> {
    const { name } = current;
    const verifying = parseVerifyPending(current.tags[TAG.verifyPending]);
    if (verifying === undefined || rotator.accepts === undefined) return undefined;
    const candidate = await this.options.store.getSecret(name);
    // Written in between (an import): that version is current now; the next pass looks at it.
    if (candidate.version !== current.version) return undefined;
    const verdict = await rotator.accepts(current.tags, candidate.value);
    const now = this.options.now();
    const version = current.version;
    if (verdict === "accepted") {
      const pending = parsePending(current.tags[TAG.pendingRevoke]);
      const proven = verifying.proven?.id;
      if (proven !== undefined && !pending.some((p) => p.id === proven)) {
        // Never forget the proven one to make room: promote once the grace of another has passed.
        if (pending.length >= MAX_PENDING) throw new RotationError("pending_revoke_full", true);
        pending.push({ id: proven, after: now + this.options.revokeGraceMinutes * 60_000 });
      }
      const tags = rotatedTags(current.tags, pending, now, [TAG.verifyPending]);
      requireLease(lease);
      await this.options.store.updateProperties(name, version, { tags });
      await this.step("promoted", name);
      this.options.log.info("rotation.rotated", {
        name,
        kind: current.tags[TAG.kind],
        version,
        expiresOn: current.expiresOn?.toISOString(),
        verifiedAfterMs: now - verifying.since,
      });
      return { name, version, status: "rotated" };
    }
    if (verdict === "unavailable") throw new RotationError("secret_verify_unavailable", true);
    if (now - verifying.since < this.options.secretVerifyMinutes * 60_000) {
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
    await this.step("discarded", name);
    // ... and make the proven secret current again, with the metadata as it is now.
    const tags: Record<string, string> = { ...current.tags, [TAG.rotationError]: "new_secret_not_accepted" };
    for (const stale of [TAG.verifyPending, TAG.noticeSentFor]) Reflect.deleteProperty(tags, stale);
    requireLease(lease);
    if (verifying.proven !== undefined) {
      const proven = await this.options.store.getSecret(name, verifying.proven.version);
      if (verifying.proven.id !== undefined) tags[rotator.upstreamIdTag] = verifying.proven.id;
      else Reflect.deleteProperty(tags, rotator.upstreamIdTag);
      const rotatedOn = proven.tags[TAG.rotatedOn];
      if (rotatedOn !== undefined) tags[TAG.rotatedOn] = rotatedOn;
      else Reflect.deleteProperty(tags, TAG.rotatedOn);
      await this.options.store.setSecret(name, proven.value, {
        contentType: proven.contentType ?? CONTENT_TYPES[current.tags[TAG.kind] as CredentialKind],
        expiresOn: proven.expiresOn,
        tags,
      });
    } else {
      // A credential the broker created: nothing older to go back to; ops must act.
      await this.options.store.updateProperties(name, version, { tags });
    }
    await this.step("restored", name);
    this.options.log.warn("rotation.secret_not_accepted", {
      name,
      windowMinutes: this.options.secretVerifyMinutes,
      restored: verifying.proven !== undefined,
    });
    throw new RotationError("new_secret_not_accepted", false);
  }

  /**
   * The rotator's own identity is watched: each sweep redeems every grant, so a withdrawn consent
   * shows as `rotation-failed` (and raises a notice) before any PAT it serves runs out.
   */
  private async checkGrant(listed: SecretProperties, report: RotationReport): Promise<void> {
    const { probeGrant } = this.options;
    if (probeGrant === undefined) return;
    const { name } = listed;
    try {
      await probeGrant(name);
      if (listed.tags[TAG.rotationError] !== undefined) {
        const current = await this.options.store.getProperties(name);
        const tags = { ...current.tags };
        Reflect.deleteProperty(tags, TAG.rotationError);
        await this.options.store.updateProperties(name, current.version, { tags });
      }
    } catch (error) {
      const reason = error instanceof RotationError ? error.code : "vault_error";
      report.failed.push({ name, reason });
      if (error instanceof RotationError && listed.tags[TAG.rotationError] !== reason) {
        await this.markFailed(await this.options.store.getProperties(name), reason);
      }
    }
  }

  /** Revokes the pending ids whose grace has passed, then drops them from the current version's tag. */
  private async revokeDue(
    name: string,
    rotator: Rotator,
    report: RotationReport | undefined,
    lease: Lease,
  ): Promise<void> {
    const current = await this.options.store.getProperties(name);
    const now = this.options.now();
    const pending = parsePending(current.tags[TAG.pendingRevoke]);
    const done = new Set<string>();
    for (const entry of pending.filter((p) => p.after <= now)) {
      requireLease(lease);
      const outcome = await rotator.revoke(current.tags, entry.id);
      await this.step("revoked", name);
      report?.revoked.push({ name, upstreamId: entry.id, outcome });
      done.add(entry.id);
    }
    const rest = formatPending(pending.filter((p) => !done.has(p.id)));
    const tags = { ...current.tags };
    if (rest === undefined) Reflect.deleteProperty(tags, TAG.pendingRevoke);
    else tags[TAG.pendingRevoke] = rest;
    await this.options.store.updateProperties(name, current.version, { tags });
  }

  /**
   * Create, prove, store, read back; the old upstream id waits out the grace in `pending-revoke`.
   * A new client secret Entra does not accept yet is stored all the same, pending verification:
   * its `verify-pending` tag names the current (proven) version, which is handed out until a later
   * pass promotes the new one, and whose upstream id stays live until then.
   */
  private async rotate(
    current: SecretProperties,
    lease: Lease,
    known?: Set<string>,
  ): Promise<RotationOutcome> {
    const { name } = current;
    const kind = current.tags[TAG.kind] as CredentialKind;
    const rotator = this.options.rotators[kind];
    if (rotator === undefined) throw new RotationError("kind_not_rotatable", false);
    if (parsePending(current.tags[TAG.pendingRevoke]).length >= MAX_PENDING) {
      // Never forget an old credential to make room: rotate again once the grace has passed.
      throw new RotationError("pending_revoke_full", true);
    }
    let fresh: FreshCredential;
    try {
      fresh = await rotator.create(name, current.tags, this.step);
    } catch (error) {
      if (error instanceof RotationError) await this.markFailed(current, error.code);
      throw error;
    }
    known?.add(fresh.upstreamId.toLowerCase());
    const now = this.options.now();
    const oldId = current.tags[rotator.upstreamIdTag];
    const pending = parsePending(current.tags[TAG.pendingRevoke]);
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
    } else {
      if (oldId !== undefined) {
        pending.push({ id: oldId.toLowerCase(), after: now + this.options.revokeGraceMinutes * 60_000 });
      }
      tags = rotatedTags(
        { ...current.tags, [rotator.upstreamIdTag]: fresh.upstreamId.toLowerCase() },
        pending,
        now,
        [TAG.noticeSentFor],
      );
    }
    let written: SecretProperties;
    try {
      // Another holder may have the lease now: it could revoke this credential as an orphan.
      requireLease(lease);
      written = await this.options.store.setSecret(name, fresh.value, {
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
    await this.step("stored", name);
    const back = await this.options.store.getSecret(name);
    if (back.version !== written.version || sha256(back.value) !== sha256(fresh.value)) {
      // Someone wrote in between: their version is current; ours waits in the history, unused.
      throw new RotationError("read_back_mismatch", true);
    }
    await this.step("read-back", name);
    if (fresh.pending === true) {
      this.options.log.info("rotation.pending_verification", {
        name,
        kind,
        version: written.version,
        windowMinutes: this.options.secretVerifyMinutes,
      });
      return {
        name,
        version: written.version,
        status: "pending-verification",
        pendingSince: new Date(Math.floor(now / 1000) * 1000).toISOString(),
      };
    }
    this.options.log.info("rotation.rotated", {
      name,
      kind,
      version: written.version,
      expiresOn: fresh.expiresOn.toISOString(),
    });
    return { name, version: written.version, status: "rotated" };
  }

  /** The failure shows in the inventory (`rotation-failed`) and raises a notice at once. */
  private async markFailed(current: SecretProperties, code: string): Promise<void> {
    try {
      // Tags as they are now: an admin's or the notice sweep's write since `current` must stay.
      const now = await this.options.store.getProperties(current.name);
      if (now.version !== current.version) return;
      await this.options.store.updateProperties(now.name, now.version, {
        tags: { ...now.tags, [TAG.rotationError]: code.slice(0, 256) },
      });
    } catch (error) {
      this.options.log.error("rotation.mark_failed", { name: current.name, error: describeError(error) });
    }
  }

  /** Upstream credentials with our marker that the vault does not know: left by a crash, revoked. */
  private async revokeOrphans(
    managed: readonly SecretProperties[],
    known: Set<string>,
    report: RotationReport,
  ): Promise<void> {
    for (const [kind, rotator] of Object.entries(this.options.rotators)) {
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
      const youngest = this.options.now() - this.orphanMinAgeMs();
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
}

function requireLease(lease: Lease): void {
  if (lease.lost()) throw new RotationError("lease_lost", true);
}

/**
 * The tags of a version that became the one handed out (a rotation stored, a pending one promoted):
 * `rotated-on` now, the stale markers cleared, the old ids waiting in `pending-revoke`, and proofs
 * of imported keyIds kept only while those still wait to be revoked (the new one is marked).
 */
function rotatedTags(
  base: Readonly<Record<string, string>>,
  pending: Parameters<typeof formatPending>[0],
  now: number,
  stale: readonly string[],
): Record<string, string> {
  const tags: Record<string, string> = { ...base, [TAG.rotatedOn]: new Date(now).toISOString() };
  for (const key of [...stale, TAG.rotationError, TAG.pendingRevoke]) Reflect.deleteProperty(tags, key);
  const pendingTag = formatPending(pending);
  if (pendingTag !== undefined) tags[TAG.pendingRevoke] = pendingTag;
  keepVerified(
    tags,
    pending.map((p) => p.id),
  );
  return tags;
}
