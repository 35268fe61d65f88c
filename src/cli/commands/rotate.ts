import { type Command } from "commander";
import { nameArg } from "./args.js";
import { type CommandContext, PROG } from "./context.js";

export function registerRotate(program: Command, ctx: CommandContext): void {
  const { client, out, json } = ctx;
  program
    .command("rotate")
    .description(
      "rotate a credential now: create, prove, store; the old one is revoked after the grace (role Secrets.Admin)",
    )
    .argument("<name>", "credential name", nameArg)
    .option("--json", "JSON instead of text")
    .addHelpText(
      "after",
      `
Examples:
  $ ${PROG} rotate pat-contoso-nuget
  $ ${PROG} rotate app-downstream-secret --json
`,
    )
    .action(async (name: string, opts: { json?: true }, cmd: Command) => {
      const result = await client(cmd).rotate(name);
      if (opts.json) json(result);
      else if (result.status === "pending-verification")
        out(
          `Stored ${result.name}'s new secret as version ${result.version}, pending verification: Entra does not accept it yet, so the old one is still handed out; a later sweep or rotate promotes it\n`,
        );
      else
        out(
          `Rotated ${result.name}: new version ${result.version}; the old credential is revoked after the grace period\n`,
        );
    });
}
