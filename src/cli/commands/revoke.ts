import { type Command } from "commander";
import { CliError, UsageError } from "../errors.js";
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
    .option("--json", "JSON instead of text")
    .addHelpText(
      "after",
      `
Examples:
  $ ${PROG} revoke pat-contoso-nuget
  Revoke pat-contoso-nuget upstream and delete it? [y/N] y
  $ ${PROG} revoke pat-contoso-nuget --yes
`,
    )
    .action(async (name: string, opts: { yes?: true; json?: true }, cmd: Command) => {
      const broker = client(cmd);
      if (opts.yes !== true) {
        if (io.stdin.isTTY !== true) throw new UsageError("revoke needs --yes when stdin is not a terminal");
        if (!(await confirm(io.stdin, io.stderr, `Revoke ${name} upstream and delete it?`))) {
          throw new CliError("cancelled, nothing revoked");
        }
      }
      const result = await broker.revoke(name);
      if (opts.json) {
        json(result);
        return;
      }
      out(
        `Revoked ${result.name}: upstream revocation ${result.upstreamRevocation}; recoverable for ${result.recoverableDays} days (import ${result.name} --recover …)\n`,
      );
    });
}
