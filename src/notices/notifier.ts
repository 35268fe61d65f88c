import type { Logger } from "../log.js";
import { NO_METRICS, type BrokerMetrics } from "../telemetry/broker-metrics.js";
import { DeliveryError, postJson, type DeliveryOptions } from "./delivery.js";
import { creationTeamsMessage } from "./creation-card.js";
import type { CreationNotice } from "./creation-notice.js";
import { driftTeamsMessage, type DriftNotice } from "./drift-notice.js";
import type { Notice } from "./notice.js";
import { teamsMessage } from "./teams-card.js";

/**
 * Sends one notice on every configured channel: the JSON webhook, the owner's Teams channel (the
 * policy's per-owner target, else the default one) and always the log. A notice is delivered
 * only when every remote channel accepted it; otherwise it is sent again on a later sweep, and
 * receivers may see it twice (its `id` lets them drop the repeat).
 */

export interface NoticeTargets {
  webhookUrl: string | undefined;
  teamsUrl: string | undefined;
  /** Teams workflow URL per owner (policy `notices.teams`), case-insensitive on the owner. */
  teamsByOwner: ReadonlyMap<string, string>;
  runbookUrl: string | undefined;
}

export type Channel = "webhook" | "teams" | "log";

export class Notifier {
  constructor(
    private readonly targets: NoticeTargets,
    private readonly delivery: DeliveryOptions,
    private readonly log: Logger,
    private readonly metrics: Pick<BrokerMetrics, "notice"> = NO_METRICS,
  ) {}

  private teamsUrlFor(owner: string | null): string | undefined {
    const own = owner === null ? undefined : this.targets.teamsByOwner.get(owner.toLowerCase());
    return own ?? this.targets.teamsUrl;
  }

  /** The channels it went to; throws DeliveryError naming each channel that failed. */
  async send(notice: Notice | CreationNotice | DriftNotice): Promise<Channel[]> {
    const sends: [Channel, Promise<void>][] = [];
    const { webhookUrl, runbookUrl } = this.targets;
    if (webhookUrl !== undefined) sends.push(["webhook", postJson(webhookUrl, notice, this.delivery)]);
    const teamsUrl = this.teamsUrlFor(notice.owner);
    if (teamsUrl !== undefined) {
      const card =
        notice.type === "token-broker.creation-notice"
          ? creationTeamsMessage(notice)
          : notice.type === "token-broker.drift-notice"
            ? driftTeamsMessage(notice)
            : teamsMessage(notice, runbookUrl);
      sends.push(["teams", postJson(teamsUrl, card, this.delivery)]);
    }
    const results = await Promise.allSettled(sends.map(([, p]) => p));
    const failures = results.flatMap((r, i) =>
      r.status === "rejected"
        ? [`${sends[i]?.[0] ?? "?"}: ${r.reason instanceof DeliveryError ? r.reason.reason : "error"}`]
        : [],
    );
    const fields = {
      id: notice.id,
      name: notice.name,
      owner: notice.owner,
      reason: notice.reason,
      version: notice.version,
      ...(notice.type === "token-broker.expiry-notice"
        ? { threshold: notice.threshold, daysLeft: notice.daysLeft }
        : {}),
    };
    const type =
      notice.type === "token-broker.creation-notice"
        ? "creation"
        : notice.type === "token-broker.drift-notice"
          ? "drift"
          : "expiry";
    this.metrics.notice(type, failures.length > 0 ? "failed" : "sent");
    if (failures.length > 0) {
      this.log.warn("notice.failed", { ...fields, failures });
      throw new DeliveryError(failures.join("; "));
    }
    const channels: Channel[] = [...sends.map(([c]) => c), "log"];
    this.log.info("notice.sent", { ...fields, summary: notice.summary, channels });
    return channels;
  }
}
