import { type Command } from "commander";
import { ProblemError } from "../broker-client.js";
import { CliError, oneLine } from "../errors.js";
import type { NoticeReportWire, RotationReportWire } from "../../wire/sweep-reports.js";
import { type CommandContext, PROG } from "./context.js";

export function registerSweep(program: Command, ctx: CommandContext): void {
  const { client, out, json } = ctx;
  const sweep = program
    .command("sweep")
    .description("run a timer's sweep now: rotation or expiry notices (role Secrets.Admin)");

  sweep
    .command("rotation")
    .description("rotate what is due, revoke what waited out its grace, repair orphans; prints the report")
    .option("--json", "the broker's report as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ ${PROG} sweep rotation
  $ ${PROG} sweep rotation --json
`,
    )
    .action(async (opts: { json?: true }, cmd: Command) => {
      const report = await running(client(cmd).sweepRotation(), "rotation");
      if (opts.json) json(report);
      else out(rotationSummary(report));
    });

  sweep
    .command("notices")
    .description("send the expiry notices that are due; prints the report")
    .option("--json", "the broker's report as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ ${PROG} sweep notices
  $ ${PROG} sweep notices --json
`,
    )
    .action(async (opts: { json?: true }, cmd: Command) => {
      const report = await running(client(cmd).sweepNotices(), "notice");
      if (opts.json) json(report);
      else out(noticeSummary(report));
    });
}

/** 409 sweep_in_progress: another sweep (the timer's, or a person's) holds the lease. */
async function running<T>(call: Promise<T>, which: string): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ProblemError && error.code === "sweep_in_progress") {
      throw new CliError(
        `another ${which} sweep is running (409 sweep_in_progress): it does what is due; try again when it is done`,
      );
    }
    throw error;
  }
}

const list = (entries: readonly string[]) => (entries.length === 0 ? "" : `: ${entries.join(", ")}`);
const line = (label: string, entries: readonly string[]) => `${label} ${entries.length}${list(entries)}\n`;

export function rotationSummary(r: RotationReportWire): string {
  const why = (e: { name: string; reason: string }) => `${e.name} (${oneLine(e.reason, 80)})`;
  return [
    `Rotation sweep: checked ${r.checked}\n`,
    line(
      "rotated",
      r.rotated.map((e) => e.name),
    ),
    line(
      "pending verification",
      r.pending.map((e) => e.name),
    ),
    line(
      "revoked",
      r.revoked.map((e) => (e.outcome === "revoked" ? e.name : `${e.name} (${oneLine(e.outcome, 30)})`)),
    ),
    line(
      "orphans revoked",
      r.orphansRevoked.map((e) => e.name),
    ),
    line("skipped", r.skipped.map(why)),
    line("failed", r.failed.map(why)),
    driftLine(r.drift),
  ].join("");
}

function driftLine(d: RotationReportWire["drift"]): string {
  if (d === undefined) return "";
  if (d.error !== undefined)
    return `drift: not read (${oneLine(d.error, 40)})
`;
  const unread = d.unreadable.length > 0 ? `; could not read ${d.unreadable.length}` : "";
  const deferred = d.deferred > 0 ? `, ${d.deferred} left for the next sweep` : "";
  const failed = d.notifyFailed > 0 ? `, ${d.notifyFailed} failed (sent again next sweep)` : "";
  return (
    `drift: ${d.unmanagedPats} PATs and ${d.unmanagedPasswords} app passwords upstream the vault does not know` +
    ` (${d.high} high), ${d.missingUpstream} vault credentials gone upstream${unread}` +
    `; ${d.notified} new drift notices sent${failed}${deferred} (token-broker drift for the list)\n`
  );
}

export function noticeSummary(r: NoticeReportWire): string {
  const at = (t: number | string) =>
    typeof t === "number" ? `${t} day${t === 1 ? "" : "s"}` : oneLine(t, 30);
  return [
    `Notice sweep: checked ${r.checked}\n`,
    line(
      "notified",
      r.notified.map((e) => `${e.name} (${at(e.threshold)})`),
    ),
    line(
      "already notified",
      r.alreadyNotified.map((e) => `${e.name} (${at(e.threshold)})`),
    ),
    line(
      "skipped",
      r.skipped.map((e) => `${e.name} (${oneLine(e.reason, 80)})`),
    ),
    line(
      "failed",
      r.failed.map((e) => `${e.name} (${at(e.threshold)}: ${oneLine(e.reason, 80)})`),
    ),
  ].join("");
}
