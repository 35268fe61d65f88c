import { type Command } from "commander";
import type { WhoamiWire } from "../../wire/whoami.js";
import { type CommandContext, PROG } from "./context.js";

/** `token-broker whoami`: who the broker takes the caller token for, and what it may get. */
export function registerWhoami(program: Command, ctx: CommandContext): void {
  const { client, out, json, paint } = ctx;
  program
    .command("whoami")
    .description("the caller as the broker sees it: issuer, subject, client id, tenant, roles, profiles")
    .option("--json", "JSON instead of text")
    .addHelpText(
      "after",
      `
Examples:
  $ ${PROG} whoami
  $ ${PROG} whoami --json
`,
    )
    .action(async (opts: { json?: true }, cmd: Command) => {
      const me = await client(cmd).whoami();
      if (opts.json) json(me);
      else {
        const p = paint();
        out(whoamiText(me, (text) => p.dim(text)));
      }
    });
}

/** A few aligned lines; "none" rather than an empty list, so a missing grant is plain to see. */
export function whoamiText(me: WhoamiWire, dim: (s: string) => string): string {
  const list = (values: readonly string[]) => (values.length > 0 ? values.join(", ") : dim("none"));
  const rows: [string, string][] = [
    ["issuer", `${me.issuer} ${dim(`(${me.issuerKind})`)}`],
    ["subject", me.subject],
    ["client id", me.clientId ?? dim("none")],
    ["tenant", me.tenantId ?? dim("none")],
    ["roles", list(me.roles)],
    ["profiles", list(me.profiles)],
    ["expires", me.expiresOn],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}\n`).join("");
}
