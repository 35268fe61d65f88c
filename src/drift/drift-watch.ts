import { createHash } from "node:crypto";
import { z } from "zod";
import { TAG } from "../inventory/managed-credential.js";
import { describeError, type Logger } from "../log.js";
import {
  missingUpstreamNotice,
  unmanagedPasswordNotice,
  unmanagedPatNotice,
  type DriftNotice,
} from "../notices/drift-notice.js";
import { DeliveryError } from "../notices/delivery.js";
import type { Notifier } from "../notices/notifier.js";
import {
  SecretNotFoundError,
  VaultError,
  type SecretProperties,
  type SecretStore,
} from "../vault/secret-store.js";
import type { Drift } from "./drift.js";
import type { DriftReport } from "./drift-types.js";

/**
 * Drift in the daily rotation sweep: the report's counts, and one notice per new finding, once.
 *
 * Which findings were notified lives in one vault secret (DRIFT_STATE_SECRET), not in tags: Key
 * Vault allows 15 tags of 256 characters per secret, too few for a tenant's worth of findings,
 * while a value holds 25 KB. It holds 16-hex-digit hashes of finding ids (no credential, no
 * upstream text), at most STATE_CAP of them; a resolved finding drops out, so if it comes back it
 * is new again. The sweep's lease makes the read-modify-write safe across instances.
 */

export const DRIFT_STATE_SECRET = "token-broker-drift-notices";
const STATE_CONTENT_TYPE = "application/vnd.token-broker.drift-notices+json";
const STATE_CAP = 1200;
/** A first sweep over a messy tenant tells owners in batches, not in one flood; the rest go next time. */
export const NOTICES_PER_SWEEP = 50;

/** A type alias, not an interface: the wire schema's loose object takes only those. */
export type DriftSweepSummary = {
  unmanagedPats: number;
  unmanagedPasswords: number;
  missingUpstream: number;
  /** Findings of `high` severity: broker-made credentials the vault lost. */
  high: number;
  /** Upstream places that could not be read (the report's `unreadable`), by code. */
  unreadable: string[];
  /** Drift notices sent in this sweep, failed (sent again next sweep), and left for the next sweep. */
  notified: number;
  notifyFailed: number;
  deferred: number;
  /** Set when no drift report could be made at all (e.g. the vault could not be listed). */
  error?: string;
};

const stateSchema = z.strictObject({
  version: z.literal(1),
  notified: z.array(z.string().regex(/^[0-9a-f]{16}$/)).max(STATE_CAP),
});

const hashOf = (id: string) => createHash("sha256").update(id).digest("hex").slice(0, 16);

export interface DriftWatchOptions {
  drift: Pick<Drift, "report">;
  store: SecretStore;
  notifier: Notifier;
  now: () => number;
  log: Logger;
}

/** Every finding of a report as the notice its owner gets. */
export function driftNotices(
  report: DriftReport,
  managed: readonly SecretProperties[],
  now: number,
): DriftNotice[] {
  const byName = new Map(managed.map((p) => [p.name, p]));
  const ownerOf = (name: string | undefined) =>
    name === undefined ? null : (byName.get(name)?.tags[TAG.owner] ?? null);
  const appCredential = (appId: string) =>
    managed.find((p) => p.tags[TAG.applicationObjectId] === appId && p.tags[TAG.kind] === "client-secret");
  return [
    ...report.unmanagedPats.map((p) =>
      unmanagedPatNotice(p, { name: p.grant, owner: ownerOf(p.grant) }, now),
    ),
    ...report.unmanagedPasswords.map((p) => {
      const credential = appCredential(p.applicationObjectId);
      return unmanagedPasswordNotice(
        p,
        { name: credential?.name ?? p.applicationObjectId, owner: ownerOf(credential?.name) },
        now,
      );
    }),
    ...report.missingUpstream.map((m) =>
      missingUpstreamNotice(m, { name: m.name, owner: ownerOf(m.name) }, now),
    ),
  ];
}

export class DriftWatch {
  constructor(private readonly options: DriftWatchOptions) {}

  /** Never throws: a drift read that fails leaves the sweep's report with `error`. */
  async run(
    managed: readonly SecretProperties[],
    alsoKnown?: ReadonlySet<string>,
  ): Promise<DriftSweepSummary> {
    const { log } = this.options;
    let report: DriftReport;
    try {
      report = await this.options.drift.report(managed, alsoKnown);
    } catch (error) {
      log.error("drift.sweep_failed", { error: describeError(error) });
      return { ...EMPTY, error: error instanceof VaultError ? "vault_error" : "drift_failed" };
    }
    const summary: DriftSweepSummary = {
      ...EMPTY,
      unmanagedPats: report.unmanagedPats.length,
      unmanagedPasswords: report.unmanagedPasswords.length,
      missingUpstream: report.missingUpstream.length,
      high: [...report.unmanagedPats, ...report.unmanagedPasswords].filter((f) => f.severity === "high")
        .length,
      unreadable: report.unreadable.map((u) => u.code),
    };
    try {
      await this.notify(driftNotices(report, managed, this.options.now()), summary);
    } catch (error) {
      log.error("drift.notices_failed", { error: describeError(error) });
    }
    return summary;
  }

  private async notify(notices: DriftNotice[], summary: DriftSweepSummary): Promise<void> {
    const { log } = this.options;
    const state = await this.readState();
    // Unreadable state: no notices this time rather than the same ones again.
    if (state === undefined) {
      summary.deferred = notices.length;
      return;
    }
    const open = new Map(notices.map((n) => [hashOf(n.id), n]));
    const kept = new Set([...state].filter((h) => open.has(h)));
    const fresh = [...open].filter(([h]) => !kept.has(h));
    for (const [hash, notice] of fresh.slice(0, NOTICES_PER_SWEEP)) {
      try {
        await this.options.notifier.send(notice);
        kept.add(hash);
        summary.notified += 1;
      } catch (error) {
        if (!(error instanceof DeliveryError)) {
          log.error("notice.unexpected_error", { id: notice.id, error: describeError(error) });
        }
        summary.notifyFailed += 1;
      }
    }
    summary.deferred = Math.max(0, fresh.length - NOTICES_PER_SWEEP);
    const next = [...kept].slice(0, STATE_CAP);
    if (next.length !== state.size || next.some((h) => !state.has(h))) await this.writeState(next);
  }

  private async readState(): Promise<Set<string> | undefined> {
    try {
      const stored = await this.options.store.getSecret(DRIFT_STATE_SECRET);
      let parsed: unknown;
      try {
        parsed = JSON.parse(stored.value);
      } catch {
        parsed = undefined;
      }
      const state = stateSchema.safeParse(parsed);
      if (!state.success) {
        // Someone wrote it by hand: start over (each open finding is told once more).
        this.options.log.warn("drift.state_invalid", { secret: DRIFT_STATE_SECRET });
        return new Set();
      }
      return new Set(state.data.notified);
    } catch (error) {
      if (error instanceof SecretNotFoundError) return new Set();
      if (!(error instanceof VaultError)) throw error;
      this.options.log.warn("drift.state_unreadable", { error: describeError(error) });
      return undefined;
    }
  }

  private async writeState(notified: string[]): Promise<void> {
    try {
      await this.options.store.setSecret(DRIFT_STATE_SECRET, JSON.stringify({ version: 1, notified }), {
        contentType: STATE_CONTENT_TYPE,
        tags: { "token-broker-state": "drift-notices" },
      });
    } catch (error) {
      if (!(error instanceof VaultError)) throw error;
      // Not recorded: the next sweep tells these owners again (at-least-once, as for expiry notices).
      this.options.log.warn("drift.state_write_failed", { error: describeError(error) });
    }
  }
}

const EMPTY: DriftSweepSummary = {
  unmanagedPats: 0,
  unmanagedPasswords: 0,
  missingUpstream: 0,
  high: 0,
  unreadable: [],
  notified: 0,
  notifyFailed: 0,
  deferred: 0,
};
