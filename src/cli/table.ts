import { styleText } from "node:util";
import type { Item, Status, Version } from "./broker-client.js";

/**
 * Colour only for a person at a terminal: never when NO_COLOR is set (no-color.org) or the
 * output is piped; FORCE_COLOR wins over both (FORCE_COLOR=0 turns colour off), as in Node.
 */
export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  const force = env["FORCE_COLOR"];
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false";
  if (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") return false;
  if (env["TERM"] === "dumb") return false;
  return stream.isTTY === true;
}

type Format = Parameters<typeof styleText>[0];

const STATUS_STYLE: Record<Status, Format> = {
  active: "green",
  expiring: "yellow",
  expired: "red",
  retired: "red",
  "rotation-failed": ["red", "bold"],
  disabled: "gray",
  "pending-verification": "cyan",
  "pending-revoke": "magenta",
};

export interface Painter {
  status(status: Status, text?: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

export function painter(color: boolean): Painter {
  // We decide ourselves (wantsColor), so Node must not second-guess with its own stream checks.
  const paint = (format: Format, text: string) =>
    color ? styleText(format, text, { validateStream: false }) : text;
  return {
    status: (status, text = status) => paint(STATUS_STYLE[status], text),
    dim: (text) => paint("dim", text),
    bold: (text) => paint("bold", text),
  };
}

interface Column<T> {
  header: string;
  text: (row: T) => string;
  align?: "right";
  /** Styles the padded cell, so escape codes never count towards the width. */
  style?: (row: T, padded: string) => string;
}

/** A plain-text table: two spaces between columns, widths from the visible text. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], p: Painter): string {
  const cells = rows.map((row) => columns.map((c) => sanitize(c.text(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? "").length)));
  const pad = (text: string, i: number) => {
    const width = widths[i] ?? 0;
    return columns[i]?.align === "right" ? text.padStart(width) : text.padEnd(width);
  };
  const line = (parts: string[]) => parts.join("  ").trimEnd();
  const header = line(columns.map((c, i) => p.bold(pad(c.header, i))));
  const body = rows.map((row, r) =>
    line(
      columns.map((c, i) => {
        const padded = pad(cells[r]?.[i] ?? "", i);
        return c.style ? c.style(row, padded) : padded;
      }),
    ),
  );
  return [header, ...body].join("\n") + "\n";
}

/** Control characters from the server must not move the cursor or recolour the terminal. */
export function sanitize(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}

export const day = (iso: string | null): string => (iso === null ? "-" : iso.slice(0, 10));

export function inventoryTable(items: readonly Item[], p: Painter): string {
  return renderTable(
    items,
    [
      { header: "NAME", text: (i) => i.name },
      { header: "KIND", text: (i) => i.kind },
      { header: "OWNER", text: (i) => i.owner ?? "-" },
      { header: "STATUS", text: (i) => i.status, style: (i, s) => p.status(i.status, s) },
      { header: "DAYS LEFT", text: (i) => (i.daysLeft === null ? "-" : String(i.daysLeft)), align: "right" },
      { header: "EXPIRES", text: (i) => day(i.expiresOn) },
      { header: "ROTATION", text: (i) => i.rotation },
    ],
    p,
  );
}

export function versionsTable(versions: readonly Version[], p: Painter): string {
  return renderTable(
    versions,
    [
      { header: "VERSION", text: (v) => v.version },
      { header: "CURRENT", text: (v) => (v.current ? "*" : "") },
      { header: "ENABLED", text: (v) => (v.enabled ? "yes" : "no") },
      { header: "EXPIRES", text: (v) => day(v.expiresOn) },
      { header: "CREATED", text: (v) => v.createdOn ?? "-" },
      { header: "UPDATED", text: (v) => v.updatedOn ?? "-" },
    ],
    p,
  );
}

/** `inventory show`: one field a line, labels aligned. */
export function itemDetails(item: Item, p: Painter): string {
  const days = item.daysLeft === null ? "" : ` (${item.daysLeft} days left)`;
  const fields: [string, string | undefined][] = [
    ["Name", item.name],
    ["Kind", item.kind],
    ["Owner", item.owner ?? "-"],
    ["Organization", item.organization ?? "-"],
    ["Scopes", item.scopes.length ? item.scopes.join(", ") : "-"],
    ["Status", item.status],
    ["Expires", `${item.expiresOn ?? "never"}${days}`],
    ["Rotation", item.rotation],
    ["Rotated on", item.rotatedOn ?? "-"],
    ["Version", item.version ?? "-"],
    ["Enabled", item.enabled ? "yes" : "no"],
    ["Created", item.createdOn ?? "-"],
    ["Updated", item.updatedOn ?? "-"],
    ["Authorization id", item.authorizationId],
    ["Application", item.applicationObjectId],
    ["Key id", item.keyId],
    ["Client id", item.clientId],
    ["Client type", item.clientType],
    ["Client secret", item.clientSecretName],
    ["Last redeemed", item.lastRedeemed],
    ["Content type", item.contentType ?? undefined],
    ["Rotation error", item.rotationError],
    ["Pending verification since", item.pendingVerificationSince],
  ];
  const shown = fields.filter((f): f is [string, string] => f[1] !== undefined);
  const width = Math.max(...shown.map(([label]) => label.length)) + 1;
  const lines = shown.map(([label, value]) => {
    const text = sanitize(value);
    return `${`${label}:`.padEnd(width)}  ${label === "Status" ? p.status(item.status, text) : text}`;
  });
  for (const warning of item.warnings) lines.push(`${"Warning:".padEnd(width)}  ${sanitize(warning)}`);
  return lines.join("\n") + "\n";
}
