import { type Command, Option } from "commander";
import { DEV_PERSONAS, type DevPersona } from "../../wire/dev-stack-state.js";
import { DEFAULT_URL, brokerBaseUrl } from "../connection.js";
import { devStackToken, findDevStack } from "../dev-stack-login.js";
import { nonBlank } from "./args.js";
import { type CommandContext, PROG } from "./context.js";

/** Safe in a shell word as is (URLs and JWTs are); anything else is single-quoted. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function registerDevToken(program: Command, ctx: CommandContext): void {
  const { io, out } = ctx;
  program
    .command("dev-token")
    .description("a caller token for a dev app, from the dev stack on this machine only (npm start)")
    .addOption(
      new Option("--as <app>", "the dev app: dev-admin, dev-ops or dev-caller")
        .choices(DEV_PERSONAS)
        .default("admin"),
    )
    .addOption(
      new Option("--output <form>", "export: a line for eval; value: the bare token")
        .choices(["export", "value"])
        .default("export"),
    )
    .addHelpText(
      "after",
      `
Only against a dev stack running on this machine (its state file: TOKEN_BROKER_DEV_STATE, else
$TMPDIR/token-broker-dev/stack.json); the dev apps' secrets are public and loopback only.

Examples:
  $ eval "$(${PROG} dev-token --as admin)"
  $ ${PROG} whoami
  $ TOKEN=$(${PROG} dev-token --as caller --output value)
`,
    )
    .action(async (opts: { as: DevPersona; output: "export" | "value" }, cmd: Command) => {
      const raw =
        cmd.optsWithGlobals<{ url?: string }>().url ?? (nonBlank(io.env["TOKEN_BROKER_URL"]) || DEFAULT_URL);
      const state = findDevStack(brokerBaseUrl(raw), io.env);
      const token = await devStackToken(state, opts.as);
      if (opts.output === "value") out(`${token}\n`);
      else
        out(`export TOKEN_BROKER_URL=${shellWord(state.brokerUrl)} TOKEN_BROKER_TOKEN=${shellWord(token)}\n`);
    });
}
