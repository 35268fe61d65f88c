import type { InventoryItem, VersionedItem } from "../inventory/managed-credential.js";
import type { NoticeEvent } from "./planner.js";

/**
 * One expiry notice: what every channel renders. Metadata only, built from the inventory item,
 * which never carries a value.
 */
export interface Notice {
  /** Stable per credential version and event: receivers can drop a repeat (delivery is at-least-once). */
  id: string;
  type: "token-broker.expiry-notice";
  name: string;
  kind: InventoryItem["kind"];
  owner: string | null;
  organization: string | null;
  expiresOn: string | null;
  daysLeft: number | null;
  status: InventoryItem["status"];
  rotation: InventoryItem["rotation"];
  version: string;
  threshold: NoticeEvent;
  /** Why it is sent, in one word a receiver can branch on. */
  reason: "expiring" | "expired" | "rotation-failed" | "rotation-overdue" | "retired";
  summary: string;
  action: { description: string; rotate: { method: "POST"; path: string }; cli: string };
  sentAt: string;
}

function reasonOf(item: InventoryItem, event: NoticeEvent): Notice["reason"] {
  if (event === "expired") return "expired";
  if (event === "rotation-failed") return "rotation-failed";
  if (event === "retired") return "retired";
  // Auto rotation starts before the notice window: a credential in the window missed it.
  return item.rotation === "auto" ? "rotation-overdue" : "expiring";
}

function when(daysLeft: number | null): string {
  if (daysLeft === null) return "has no expiry date";
  if (daysLeft <= 0) return "expires within a day";
  return daysLeft === 1 ? "expires in 1 day" : `expires in ${daysLeft} days`;
}

export function summaryOf(item: InventoryItem, reason: Notice["reason"]): string {
  switch (reason) {
    case "expired":
      return `${item.name} has expired`;
    case "rotation-failed":
      return `${item.name}: rotation failed, it ${when(item.daysLeft)}`;
    case "rotation-overdue":
      return `${item.name}: rotation is overdue, it ${when(item.daysLeft)}`;
    case "expiring":
      return `${item.name} ${when(item.daysLeft)}`;
    case "retired":
      return `${item.name} is a global PAT: Azure DevOps stopped accepting those on 2026-12-01`;
  }
}

function actionOf(item: InventoryItem, reason: Notice["reason"]): Notice["action"] {
  const rotate = { method: "POST" as const, path: `/api/inventory/${item.name}/rotate` };
  if (reason === "retired") {
    // A migration: a new PAT for one organization under the same name, the global one revoked.
    const migrate = `token-broker rotate ${item.name} --org ORG`;
    return {
      description: `Migrate it to a PAT for one organization (${migrate}, or POST ${rotate.path}?organization=ORG, role Secrets.Admin); the global PAT is revoked.`,
      rotate,
      cli: migrate,
    };
  }
  const cli = `token-broker import ${item.name} …`;
  const description =
    item.rotation === "auto" || reason === "rotation-failed"
      ? `Rotate it now (POST ${rotate.path}, role Secrets.Admin); if that fails, create a new credential and import it (${cli}).`
      : `Create a new credential and import it (${cli}), or rotate it (POST ${rotate.path}).`;
  return { description, rotate, cli };
}

export function noticeOf(item: VersionedItem, event: NoticeEvent, now: number): Notice {
  const reason = reasonOf(item, event);
  return {
    id: `${item.name}:${item.version}:${String(event)}`,
    type: "token-broker.expiry-notice",
    name: item.name,
    kind: item.kind,
    owner: item.owner,
    organization: item.organization,
    expiresOn: item.expiresOn,
    daysLeft: item.daysLeft,
    status: item.status,
    rotation: item.rotation,
    version: item.version,
    threshold: event,
    reason,
    summary: summaryOf(item, reason),
    action: actionOf(item, reason),
    sentAt: new Date(now).toISOString(),
  };
}
