import type { InventoryItem } from "../inventory/managed-credential.js";

/**
 * What notice, if any, a credential's current version is due, and how that is recorded: the tag
 * `notice-sent-for` = `<version>:<event>[,<event>…]`, where an event is a threshold in days,
 * `expired`, `rotation-failed` or `retired`. A tag for another version is stale: a new version (rotation,
 * update) starts clean and notifies again when it enters the window.
 */

/** A threshold in days, or one of the notices that go out whatever the date. */
export type NoticeEvent = number | "expired" | "rotation-failed" | "retired";

export interface SentNotices {
  version: string;
  events: NoticeEvent[];
}

const DAY_MS = 24 * 3600_000;

function parseEvent(text: string): NoticeEvent | undefined {
  if (text === "expired" || text === "rotation-failed" || text === "retired") return text;
  return /^\d{1,3}$/.test(text) ? Number(text) : undefined;
}

/** The tag's events for `version`; a tag of another version (or unreadable) counts as nothing sent. */
export function sentFor(tag: string | undefined, version: string): NoticeEvent[] {
  if (tag === undefined) return [];
  const colon = tag.indexOf(":");
  if (colon < 0 || tag.slice(0, colon) !== version) return [];
  const events: NoticeEvent[] = [];
  for (const part of tag.slice(colon + 1).split(",")) {
    const event = parseEvent(part.trim());
    if (event !== undefined) events.push(event);
  }
  return events;
}

/** The tag value once `event` was delivered for `version`, keeping what was sent before. */
export function markSent(tag: string | undefined, version: string, event: NoticeEvent): string {
  const events = sentFor(tag, version);
  if (!events.includes(event)) events.push(event);
  return `${version}:${events.join(",")}`;
}

export type Plan =
  { due: NoticeEvent } | { already: NoticeEvent } | { none: "disabled" | "no-expiry" | "outside-window" };

/**
 * The most pressing notice first: expired (the final notice), then a retired global PAT (once:
 * it works nowhere, whatever its expiry), then a failed rotation (at once,
 * whatever the date), then the smallest threshold whose window the expiry is in. A threshold
 * counts as notified when it or a smaller one was sent for this version (a sweep that first runs
 * inside the 1-day window sends the 1-day notice only, and the 7-day one never after it).
 */
export function planNotice(
  item: InventoryItem,
  noticeSentFor: string | undefined,
  thresholds: readonly number[],
  now: number,
): Plan {
  if (!item.enabled) return { none: "disabled" };
  // A listed item has no version: what was sent for it is only known once it is read on its own.
  const sent = item.version === null ? [] : sentFor(noticeSentFor, item.version);
  const expiresAt = item.expiresOn === null ? undefined : Date.parse(item.expiresOn);
  if (expiresAt !== undefined && expiresAt <= now) {
    return sent.includes("expired") ? { already: "expired" } : { due: "expired" };
  }
  if (item.status === "retired") {
    return sent.includes("retired") ? { already: "retired" } : { due: "retired" };
  }
  if (item.rotationError !== undefined) {
    return sent.includes("rotation-failed") ? { already: "rotation-failed" } : { due: "rotation-failed" };
  }
  if (expiresAt === undefined) return { none: "no-expiry" };
  const left = expiresAt - now;
  const inWindow = thresholds.filter((t) => left <= t * DAY_MS);
  if (inWindow.length === 0) return { none: "outside-window" };
  const threshold = Math.min(...inWindow);
  const covered = sent.some((e) => typeof e === "number" && e <= threshold);
  return covered ? { already: threshold } : { due: threshold };
}
