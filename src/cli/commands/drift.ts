import { type Command, Option } from "commander";
import type { DriftReportWire } from "../../wire/drift.js";
import { day, renderTable, type Painter } from "../table.js";
import { type CommandContext, PROG } from "./context.js";

/** `token-broker drift`: what upstream holds that the vault does not know, and the reverse. */
export function registerDrift(program: Command, ctx: CommandContext): void {
  const { client, out, json, paint } = ctx;
  program
    .command("drift")
    .description(
      "upstream PATs and app passwords the vault does not know, and vault credentials gone upstream (role Inventory.Read)",
    )
    .addOption(new Option("--json", "the broker's report as JSON").conflicts("csv"))
    .addOption(new Option("--csv", "the broker's CSV (RFC 4180): a row per finding").conflicts("json"))
    .addHelpText(
      "after",
      `
Findings: severity high = made by this broker (its marker) but lost by the vault; medium = a
global or full-scope PAT; low = anything else the vault does not know. "unreadable" parts
(e.g. a grant whose refresh token was revoked) are listed; the rest of the report stands.

Examples:
  $ ${PROG} drift
  $ ${PROG} drift --json
  $ ${PROG} drift --csv > drift.csv
`,
    )
    .action(async (opts: { json?: true; csv?: true }, cmd: Command) => {
      const broker = client(cmd);
      if (opts.csv) out(await broker.driftCsv());
      else if (opts.json) json(await broker.drift());
      else out(driftText(await broker.drift(), paint()));
    });
}

const flags = (p: { global: boolean; fullScope: boolean }) =>
  [p.global ? "global" : "", p.fullScope ? "full-scope" : ""].filter((f) => f !== "").join(",") || "-";

/** Each list as a table under a heading; "none" for an empty one, so a clean report is plain to see. */
export function driftText(r: DriftReportWire, p: Painter): string {
  const section = (title: string, count: number, table: () => string) =>
    `${p.bold(`${title} (${count})`)}\n${count === 0 ? `${p.dim("none")}\n` : table()}\n`;
  const { checked } = r;
  return [
    `Drift report ${r.generatedAt}: ${checked.credentials} managed credentials, ` +
      `${checked.organizations.length} organizations, ${checked.applications.length} applications\n\n`,
    section("PATs upstream the vault does not know", r.unmanagedPats.length, () =>
      renderTable(
        r.unmanagedPats,
        [
          { header: "SEVERITY", text: (x) => x.severity },
          { header: "ORG", text: (x) => x.organization },
          { header: "DISPLAY NAME", text: (x) => x.displayName },
          { header: "SCOPES", text: (x) => x.scopes.join(" ") },
          { header: "VALID TO", text: (x) => day(x.validTo) },
          { header: "FLAGS", text: flags },
          { header: "AUTHORIZATION ID", text: (x) => x.authorizationId },
        ],
        p,
      ),
    ),
    section("App passwords the vault does not know", r.unmanagedPasswords.length, () =>
      renderTable(
        r.unmanagedPasswords,
        [
          { header: "SEVERITY", text: (x) => x.severity },
          { header: "APPLICATION", text: (x) => x.applicationObjectId },
          { header: "DISPLAY NAME", text: (x) => x.displayName ?? "-" },
          { header: "HINT", text: (x) => x.hint ?? "-" },
          { header: "ENDS", text: (x) => day(x.endDateTime) },
          { header: "KEY ID", text: (x) => x.keyId },
        ],
        p,
      ),
    ),
    section("In the vault, gone upstream", r.missingUpstream.length, () =>
      renderTable(
        r.missingUpstream,
        [
          { header: "NAME", text: (x) => x.name },
          { header: "KIND", text: (x) => x.kind },
          { header: "WHERE", text: (x) => x.organization ?? x.applicationObjectId ?? "-" },
          { header: "UPSTREAM ID", text: (x) => x.upstreamId },
        ],
        p,
      ),
    ),
    section("Could not be read", r.unreadable.length, () =>
      renderTable(
        r.unreadable,
        [
          { header: "SOURCE", text: (x) => x.source },
          { header: "WHERE", text: (x) => x.organization ?? x.applicationObjectId ?? "-" },
          { header: "CODE", text: (x) => x.code },
          { header: "DETAIL", text: (x) => x.detail },
        ],
        p,
      ),
    ),
  ]
    .join("")
    .trimEnd()
    .concat("\n");
}
