import { type Command } from "commander";
import type { Deleted } from "../broker-client.js";
import { CliError, UsageError, oneLine } from "../errors.js";
import { confirm } from "../secret-input.js";
import { nameArg } from "./args.js";
import { type CommandContext, PROG } from "./context.js";

export function registerRevoke(program: Command, ctx: CommandContext): void {
  const { io, client, out, json } = ctx;
  program
    .command("revoke")
    .description("revoke a credential upstream, then soft-delete it (role Secrets.Admin)")
    .argument("<name>", "credential name", nameArg)
    .option("-y, --yes", "do not ask for confirmation (required when stdin is not a terminal)")
    .option(
      "--skip-upstream",
      "delete without revoking upstream (after a 502: then revoke it by hand where it was made)",
    )
    .option("--json", "JSON instead of text")
    .addHelpText(
      "after",
      `
Examples:
  $ ${PROG} revoke pat-contoso-nuget
  Revoke pat-contoso-nuget upstream and delete it? [y/N] y
  $ ${PROG} revoke pat-contoso-nuget --yes
  $ ${PROG} revoke pat-contoso-nuget --skip-upstream --yes
`,
    )
    .action(async (name: string, opts: RevokeOptions, cmd: Command) => {
      const broker = client(cmd);
      const skipUpstream = opts.skipUpstream === true;
      if (opts.yes !== true) {
        if (io.stdin.isTTY !== true) throw new UsageError("revoke needs --yes when stdin is not a terminal");
        const question = skipUpstream
          ? `Delete ${name} WITHOUT revoking it upstream? It will NOT be revoked and keeps working until it expires or is revoked by hand.`
          : `Revoke ${name} upstream and delete it?`;
        if (!(await confirm(io.stdin, io.stderr, question))) {
          throw new CliError("cancelled, nothing revoked");
        }
      }
      const result = await broker.revoke(name, { skipUpstream });
      if (opts.json) {
        json(result);
        return;
      }
      out(
        `${revokedWords(result)}; recoverable for ${result.recoverableDays} days (${PROG} import ${result.name} --recover …)\n`,
      );
    });
}

/** What the broker did upstream, in words: "deleted" alone must never read as "revoked". */
export function revokedWords(result: Deleted): string {
  const { name } = result;
  switch (result.upstreamRevocation) {
    case "revoked":
      return `Revoked ${name} upstream (it no longer works) and deleted it`;
    case "not-found":
      return `Deleted ${name}; upstream did not know it (already revoked, or not the rotator's user's PAT), so nothing was revoked`;
    case "not-applicable":
      return `Deleted ${name}; nothing was revoked upstream: no authorization id or key id recorded (revoke it where it was made)`;
    case "not-configured":
      return `Deleted ${name}; nothing was revoked upstream: the broker has no identity that may (for a PAT: no rotator grant for its organization); revoke it by hand`;
    case "skipped":
      return `Deleted ${name} without revoking it upstream (--skip-upstream): it works until it expires or is revoked by hand`;
    default:
      // A newer broker's word: shown as it came, not guessed at.
      return `Deleted ${name}; upstream revocation: ${oneLine(result.upstreamRevocation, 60)}`;
  }
}

interface RevokeOptions {
  yes?: true;
  skipUpstream?: true;
  json?: true;
}
