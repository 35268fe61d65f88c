import { isVersioned, TAG, toItem, type InventoryItem } from "../inventory/managed-credential.js";
import { withLease, type Lease, type LeaseProvider, type Leased } from "../lease/lease.js";
import { describeError, type Logger } from "../log.js";
import {
  SecretNotFoundError,
  type SecretProperties,
  type SecretStore,
  allSecrets,
} from "../vault/secret-store.js";
import { markCreation, owedBy, SENT } from "./creation-mark.js";
import { creationNoticeOf } from "./creation-notice.js";
import { DeliveryError } from "./delivery.js";
import { noticeOf } from "./notice.js";
import type { Notifier } from "./notifier.js";
import { markSent, planNotice, type NoticeEvent } from "./planner.js";

/**
 * The expiry-notice sweep: reads every managed credential from the vault, sends what is due to
 * its owner, and records each delivered notice on the secret version it was for. One sweep at a
 * time across every instance (the `notice-sweep` lease): without it two sweeps could both see a
 * version unmarked and both notify, since Key Vault tags have no compare-and-swap.
 */

export const NOTICE_SWEEP_LEASE = "notice-sweep";

export interface SweepReport {
  notified: { name: string; threshold: NoticeEvent }[];
  alreadyNotified: { name: string; threshold: NoticeEvent }[];
  failed: { name: string; threshold: NoticeEvent; reason: string }[];
  /** Due, but not sent this time (e.g. the lease was lost, the version changed meanwhile). */
  skipped: { name: string; reason: string }[];
  /** Creation notices whose first delivery failed, sent by this sweep (failures land in `skipped`). */
  created: { name: string }[];
  checked: number;
}

export interface NoticeSweepOptions {
  store: SecretStore;
  leases: LeaseProvider;
  notifier: Notifier;
  /** Largest first. */
  thresholds: readonly number[];
  now: () => number;
  log: Logger;
  /** Notices in flight at once: one slow receiver never holds up the rest. */
  concurrency?: number;
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class NoticeSweep {
  constructor(private readonly options: NoticeSweepOptions) {}

  /** `{acquired: false}` when another sweep holds the lease. */
  async run(trigger: "timer" | "route"): Promise<Leased<SweepReport>> {
    const { log } = this.options;
    const started = performance.now();
    const outcome = await withLease(this.options.leases, NOTICE_SWEEP_LEASE, (lease) => this.sweep(lease));
    if (!outcome.acquired) {
      log.info("notice.sweep_skipped", { trigger, reason: "sweep_in_progress" });
      return outcome;
    }
    const r = outcome.value;
    log.info("notice.sweep", {
      trigger,
      lease: this.options.leases.scope,
      checked: r.checked,
      notified: r.notified.length,
      alreadyNotified: r.alreadyNotified.length,
      failed: r.failed.length,
      skipped: r.skipped.length,
      ms: Math.round(performance.now() - started),
    });
    return outcome;
  }

  private async sweep(lease: Lease): Promise<SweepReport> {
    const { store, thresholds } = this.options;
    const now = this.options.now();
    const rules = { now, noticeDays: Math.max(...thresholds) };
    const report: SweepReport = {
      notified: [],
      alreadyNotified: [],
      failed: [],
      skipped: [],
      created: [],
      checked: 0,
    };
    // The vault's listing has no version ids: what could be due is read again one by one.
    const candidates: string[] = [];
    const owed: string[] = [];
    for await (const secret of allSecrets(store)) {
      const item = toItem(secret, rules);
      if (item === undefined) continue;
      report.checked += 1;
      if (!("none" in planNotice(item, undefined, thresholds, now))) candidates.push(item.name);
      if (owedBy(secret.tags[TAG.createdNotice]) !== undefined) owed.push(item.name);
    }
    for (const name of owed) if (!lease.lost()) await this.announce(name, report, rules);

    await eachLimited(candidates, this.options.concurrency ?? 4, (name) =>
      this.notify(name, { lease, report, now, rules }),
    );
    for (const list of [
      report.notified,
      report.alreadyNotified,
      report.failed,
      report.skipped,
      report.created,
    ]) {
      list.sort((a, b) => a.name.localeCompare(b.name));
    }
    return report;
  }

  private async notify(
    name: string,
    context: { lease: Lease; report: SweepReport; now: number; rules: { now: number; noticeDays: number } },
  ): Promise<void> {
    const { lease, report, now, rules } = context;
    if (lease.lost()) {
      report.skipped.push({ name, reason: "lease lost" });
      return;
    }
    let secret: SecretProperties;
    try {
      secret = await this.options.store.getProperties(name);
    } catch (error) {
      if (error instanceof SecretNotFoundError) return; // deleted since the listing
      this.options.log.error("notice.read_failed", { name, error: describeError(error) });
      report.skipped.push({ name, reason: "could not be read from the vault" });
      return;
    }
    const item = toItem(secret, rules);
    if (item === undefined || !isVersioned(item)) return;
    const plan = planNotice(item, secret.tags[TAG.noticeSentFor], this.options.thresholds, now);
    if ("already" in plan) {
      report.alreadyNotified.push({ name, threshold: plan.already });
      return;
    }
    if (!("due" in plan)) return;
    const event = plan.due;
    try {
      await this.options.notifier.send(noticeOf(item, event, now));
    } catch (error) {
      // One notice's failure does not stop the others; one that is not a delivery failure is a bug: logged as such.
      if (!(error instanceof DeliveryError))
        this.options.log.error("notice.unexpected_error", { name, error: describeError(error) });
      const reason = error instanceof DeliveryError ? error.reason : "delivery error";
      report.failed.push({ name, threshold: event, reason });
      return;
    }
    try {
      const recorded = await this.record(item, event);
      if (recorded) report.notified.push({ name, threshold: event });
      else report.skipped.push({ name, reason: "version changed while notifying" });
    } catch (error) {
      this.options.log.error("notice.record_failed", { name, error: describeError(error) });
      report.failed.push({ name, threshold: event, reason: "sent, but not recorded in the vault" });
    }
  }

  /** A creation notice whose first delivery failed: sent now, once, for the version it was owed for. */
  private async announce(
    name: string,
    report: SweepReport,
    rules: { now: number; noticeDays: number },
  ): Promise<void> {
    const { store, notifier, log } = this.options;
    try {
      const secret = await store.getProperties(name);
      const by = owedBy(secret.tags[TAG.createdNotice]);
      const item = toItem(secret, rules);
      if (by === undefined || item === undefined || !isVersioned(item)) return;
      await notifier.send(creationNoticeOf(item, by, rules.now));
      if (await markCreation(store, name, item.version, SENT)) report.created.push({ name });
    } catch (error) {
      if (error instanceof SecretNotFoundError) return;
      const reason = error instanceof DeliveryError ? error.reason : "vault error";
      if (!(error instanceof DeliveryError))
        log.error("notice.creation_failed", { name, error: describeError(error) });
      report.skipped.push({ name, reason: `creation notice: ${reason}` });
    }
  }

  /**
   * Marks the version, merged onto its tags as they are now (tags replace: a tag written since the
   * listing, e.g. by rotation, must not be dropped). False if the credential has a new version.
   */
  private async record(item: InventoryItem, event: NoticeEvent): Promise<boolean> {
    const { store } = this.options;
    const fresh = await store.getProperties(item.name);
    if (fresh.version !== item.version) return false;
    const tags = {
      ...fresh.tags,
      [TAG.noticeSentFor]: markSent(fresh.tags[TAG.noticeSentFor], item.version, event),
    };
    await store.updateProperties(item.name, item.version, { tags });
    return true;
  }
}
