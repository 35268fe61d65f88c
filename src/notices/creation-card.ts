import { byWhom, type CreationNotice } from "./creation-notice.js";
import { adaptiveMessage, plain } from "./teams-card.js";

/** The Teams card of a creation notice: informational (accent), with who made it and how to revoke it. */
export function creationTeamsMessage(notice: CreationNotice): unknown {
  const facts = [
    { title: "Name", value: notice.name },
    { title: "Kind", value: notice.kind },
    { title: "Version", value: notice.version },
    { title: "Owner", value: plain(notice.owner ?? "(none)") },
    { title: "Organization", value: plain(notice.organization ?? "(none)") },
    ...(notice.applicationObjectId !== null
      ? [{ title: "Application", value: notice.applicationObjectId }]
      : []),
    { title: "Created by", value: plain(byWhom(notice.createdBy)) },
    { title: "Expires", value: notice.expiresOn ?? "never" },
  ];
  return adaptiveMessage({
    style: "accent",
    headline: `${notice.name}: new credential created`,
    lead: "A new version of this credential was stored in the broker.",
    facts,
    whatToDo: "If you did not expect this",
    description: notice.action.description,
    id: notice.id,
    actions: [],
  });
}
