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
import { keepVerified } from "./password-ownership.js";
import { RotationError, SimulatedCrash, type StepHook } from "./rotation-error.js";
import { DAY_MS, type FreshCredential, type Rotator } from "./rotator.js";

/** What a sweep did, by name and reason only: never a value. */
export interface RotationReport {
  rotated: { name: string; version: string }[];
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
  ): Promise<FreshCredential & { upstreamIdTag: string; discard: () => Promise<void> }> {
    const rotator = this.options.rotators[kind];
    if (rotator === undefined) throw new RotationError("kind_not_rotatable", false);
    const fresh = await rotator.create(name, tags, this.step);
    return {
      ...fresh,
      upstreamIdTag: rotator.upstreamIdTag,
      discard: () =>
        rotator.revoke(tags, fresh.upstreamId).then(
          () => undefined,
          () => undefined,
        ),
    };
  }

  /** `POST /api/inventory/{name}/rotate`: now, whatever the date, under the sweep's lease. */
  async rotateNow(name: string): Promise<Leased<{ name: string; version: string }>> {
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
      return this.rotate(current, lease);
    });
  }

  /** The timer and `POST /api/admin/rotation-sweep`. */
  async sweep(trigger: "timer" | "route"): Promise<Leased<RotationReport>> {
    const outcome = await withLease(this.options.leases, ROTATION_LEASE, async (lease) => {
      const report: RotationReport = {
        rotated: [],
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
    for (const id of [tags[rotator?.upstreamIdTag ?? ""], ...pending.map((p) => p.id)]) {
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
      const due =
        listed.enabled &&
        tags[TAG.rotation] === "auto" &&
        listed.expiresOn !== undefined &&
        listed.expiresOn.getTime() - now <= this.options.rotateBeforeDays * DAY_MS;
      if (!due) return;
      const current = await this.options.store.getProperties(name);
      const rotated = await this.rotate(current, lease, known);
      report.rotated.push(rotated);
    } catch (error) {
      if (error instanceof SimulatedCrash) throw error;
      const reason = error instanceof RotationError ? error.code : "vault_error";
      report.failed.push({ name, reason });
      if (!(error instanceof RotationError)) {
        this.options.log.error("rotation.failed", { name, error: describeError(error) });
      }
    }
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

  /** Create, prove, store, read back; the old upstream id waits out the grace in `pending-revoke`. */
  private async rotate(
    current: SecretProperties,
    lease: Lease,
    known?: Set<string>,
  ): Promise<{ name: string; version: string }> {
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
    if (oldId !== undefined) {
      pending.push({ id: oldId.toLowerCase(), after: now + this.options.revokeGraceMinutes * 60_000 });
    }
    const tags: Record<string, string> = {
      ...current.tags,
      [rotator.upstreamIdTag]: fresh.upstreamId.toLowerCase(),
      [TAG.rotatedOn]: new Date(now).toISOString(),
    };
    for (const stale of [TAG.rotationError, TAG.noticeSentFor, TAG.pendingRevoke])
      Reflect.deleteProperty(tags, stale);
    const pendingTag = formatPending(pending);
    if (pendingTag !== undefined) tags[TAG.pendingRevoke] = pendingTag;
    // Proofs of imported keyIds are kept while those still wait to be revoked (the new one is marked).
    keepVerified(
      tags,
      pending.map((p) => p.id),
    );
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
    this.options.log.info("rotation.rotated", {
      name,
      kind,
      version: written.version,
      expiresOn: fresh.expiresOn.toISOString(),
    });
    return { name, version: written.version };
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
