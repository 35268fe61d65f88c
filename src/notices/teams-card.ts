import type { Notice } from "./notice.js";

/**
 * The Teams workflow message for a notice: one Adaptive Card 1.5 a person reads at a glance:
 * name and days left as the title, coloured by urgency, the facts, and what to do.
 */

type Urgency = "attention" | "warning";

function urgencyOf(notice: Notice): Urgency {
  if (["expired", "rotation-failed", "retired"].includes(notice.reason)) return "attention";
  return notice.daysLeft !== null && notice.daysLeft <= 1 ? "attention" : "warning";
}

/** Card text is rendered as Markdown: owner and organization are free text from tags (no links, no emphasis). */
export function plain(text: string): string {
  return text.replace(/[\\`*_[\]()~<>]/g, (c) => `\\${c}`);
}

function headline(notice: Notice): string {
  if (notice.reason === "expired") return `${notice.name} has expired`;
  if (notice.reason === "retired") return `${notice.name} is a retired global PAT`;
  if (notice.daysLeft === null) return `${notice.name}: rotation failed`;
  const days =
    notice.daysLeft <= 0 ? "less than a day" : notice.daysLeft === 1 ? "1 day" : `${notice.daysLeft} days`;
  return `${notice.name} expires in ${days}`;
}

function lead(notice: Notice): string {
  switch (notice.reason) {
    case "expired":
      return "The credential has expired: whatever uses it now fails.";
    case "rotation-failed":
      return "Automatic rotation failed; the credential keeps its current expiry.";
    case "rotation-overdue":
      return "Automatic rotation should have renewed it by now and has not.";
    case "expiring":
      return "This credential is rotated by hand: renew it before it expires.";
    case "retired":
      return "Azure DevOps stopped accepting global PATs on 2026-12-01: whatever uses it now fails. Migrate it to a PAT for one organization.";
  }
}

export function teamsMessage(notice: Notice, runbookUrl: string | undefined): unknown {
  const urgency = urgencyOf(notice);
  const facts = [
    { title: "Name", value: notice.name },
    { title: "Kind", value: notice.kind },
    { title: "Owner", value: plain(notice.owner ?? "(none)") },
    { title: "Organization", value: plain(notice.organization ?? "(none)") },
    { title: "Expires", value: notice.expiresOn ?? "never" },
    { title: "Days left", value: notice.daysLeft === null ? "-" : String(notice.daysLeft) },
    { title: "Status", value: notice.status },
    { title: "Rotation", value: notice.rotation },
  ];
  return adaptiveMessage({
    style: urgency,
    headline: headline(notice),
    lead: lead(notice),
    facts,
    whatToDo: "What to do",
    description: notice.action.description,
    id: notice.id,
    actions:
      runbookUrl === undefined ? [] : [{ type: "Action.OpenUrl", title: "How to renew it", url: runbookUrl }],
  });
}

/** One Adaptive Card 1.5 in a Teams workflow message: a coloured title band, facts, what to do. */
export function adaptiveMessage(card: {
  style: Urgency | "accent";
  headline: string;
  lead: string;
  facts: { title: string; value: string }[];
  whatToDo: string;
  description: string;
  id: string;
  actions: unknown[];
}): unknown {
  const { style } = card;
  const content = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.5",
    msteams: { width: "Full" },
    body: [
      {
        type: "Container",
        style,
        bleed: true,
        items: [
          {
            type: "ColumnSet",
            columns: [
              {
                type: "Column",
                width: "stretch",
                items: [
                  {
                    type: "TextBlock",
                    text: card.headline,
                    size: "Large",
                    weight: "Bolder",
                    color: style,
                    wrap: true,
                  },
                ],
              },
              {
                type: "Column",
                width: "auto",
                verticalContentAlignment: "Center",
                items: [{ type: "TextBlock", text: "Token Broker", isSubtle: true, size: "Small" }],
              },
            ],
          },
          { type: "TextBlock", text: card.lead, wrap: true, spacing: "Small" },
        ],
      },
      { type: "FactSet", facts: card.facts },
      { type: "TextBlock", text: card.whatToDo, weight: "Bolder", spacing: "Medium" },
      { type: "TextBlock", text: card.description, wrap: true },
      { type: "TextBlock", text: `Notice ${card.id}`, isSubtle: true, size: "Small", wrap: true },
    ],
    actions: card.actions,
  };
  return {
    type: "message",
    attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content }],
  };
}
