import type { CreatedBy } from "../inventory/creation.js";
import type { VersionedItem } from "../inventory/managed-credential.js";

/**
 * The notice of a new credential version (as Azure DevOps mails one when a PAT is made): an
 * owner who did not expect it has the first sign of misuse. Metadata only, built from the
 * inventory item, which never carries a value.
 */
export interface CreationNotice {
  /** Stable per version: receivers can drop a repeat (delivery is at-least-once). */
  id: string;
  type: "token-broker.creation-notice";
  reason: "created";
  name: string;
  kind: VersionedItem["kind"];
  owner: string | null;
  organization: string | null;
  applicationObjectId: string | null;
  version: string;
  expiresOn: string | null;
  rotation: VersionedItem["rotation"];
  createdBy: CreatedBy;
  summary: string;
  action: { description: string; revoke: { method: "DELETE"; path: string }; cli: string };
  sentAt: string;
}

/** Who, in words: the caller's object id (else subject) and issuer, or the broker's rotation. */
export function byWhom(by: CreatedBy): string {
  if (by.type === "rotation") return "rotation (the broker)";
  const who = by.caller["oid"] ?? by.caller["sub"] ?? "an unnamed admin";
  const app = by.caller["appid"] ?? by.caller["azp"];
  return app !== undefined && app !== who ? `${who} (app ${app})` : who;
}

export function creationNoticeOf(item: VersionedItem, by: CreatedBy, now: number): CreationNotice {
  const cli = `token-broker revoke ${item.name}`;
  const path = `/api/inventory/${item.name}`;
  return {
    id: `${item.name}:${item.version}:created`,
    type: "token-broker.creation-notice",
    reason: "created",
    name: item.name,
    kind: item.kind,
    owner: item.owner,
    organization: item.organization,
    applicationObjectId: item.applicationObjectId ?? null,
    version: item.version,
    expiresOn: item.expiresOn,
    rotation: item.rotation,
    createdBy: by,
    summary: `${item.name}: a new ${item.kind} version was created by ${byWhom(by)}`,
    action: {
      description: `If you did not expect this, revoke it: ${cli} (DELETE ${path}, role Secrets.Admin).`,
      revoke: { method: "DELETE", path },
      cli,
    },
    sentAt: new Date(now).toISOString(),
  };
}
