import { type Command } from "commander";
import type { Item } from "../broker-client.js";
import { nameArg } from "./args.js";
import { type CommandContext, PROG } from "./context.js";

export function registerRotate(program: Command, ctx: CommandContext): void {
  const { client, out, json } = ctx;
  program
    .command("rotate")
    .description(
      "rotate a credential now: create, prove, store; the old one, if its upstream id is recorded, is revoked after the grace (role Secrets.Admin)",
    )
    .argument("<name>", "credential name", nameArg)
    .option(
      "--org <organization>",
      "a stored global PAT (retired by Azure DevOps): migrate it to a new PAT for this organization, same name",
    )
    .option("--json", "JSON instead of text")
    .addHelpText(
      "after",
      `
Examples:
  $ ${PROG} rotate pat-contoso-nuget
  $ ${PROG} rotate app-downstream-secret --json
  $ ${PROG} rotate pat-legacy-global --org contoso
`,
    )
    .action(async (name: string, opts: { json?: true; org?: string }, cmd: Command) => {
      const broker = client(cmd);
      // What is there before: whether the old credential can be revoked is known only from it.
      // Not needed for --json, and not worth failing over (a caller without Inventory.Read).
      const before = opts.json ? undefined : await broker.find(name).catch(() => undefined);
      const result = await broker.rotate(name, opts.org);
      if (opts.json) {
        json(result);
        return;
      }
      if (result.status === "pending-verification") {
        const since = result.pendingSince !== undefined ? ` since ${result.pendingSince}` : "";
        out(
          before?.pendingVerificationSince !== undefined
            ? `${result.name}'s new secret (version ${result.version}) is still pending verification${since}: Entra does not accept it yet, so the old one is still handed out and nothing was revoked; a later sweep or rotate promotes it\n`
            : `Stored ${result.name}'s new secret as version ${result.version}, pending verification: Entra does not accept it yet, so the old one is still handed out and nothing was revoked; a later sweep or rotate promotes it\n`,
        );
        return;
      }
      if (before?.status === "retired") {
        out(
          `Migrated ${result.name} to organization ${opts.org ?? "?"}: new version ${result.version}; the global PAT is revoked upstream (if its authorization id was recorded)\n`,
        );
        return;
      }
      out(`Rotated ${result.name}: new version ${result.version}; ${oldOne(before)}\n`);
    });
}

/** What becomes of the credential rotated away, as far as the item read before says. */
function oldOne(before: Item | undefined): string {
  const grace = "is revoked upstream once the grace period has passed (by the next rotation sweep after it)";
  if (before === undefined) {
    return `the old credential ${grace}, if its upstream id was recorded`;
  }
  if (before.pendingVerificationSince !== undefined) {
    // A verification pass promoted the new secret stored earlier; the one it replaces waits now.
    return `that is the secret pending verification since ${before.pendingVerificationSince}, now accepted; the one before it ${grace}`;
  }
  const id = before.kind === "pat" ? before.authorizationId : before.keyId;
  const idName = before.kind === "pat" ? "authorization id" : "key id";
  if (id === undefined) {
    return `the old credential is NOT revoked: no ${idName} was recorded for it, so it works until it expires unless revoked by hand where it was made`;
  }
  return `the old credential (${idName} ${id}) ${grace}`;
}
