import { Command, CommanderError } from "commander";
import { BrokerClient } from "./broker-client.js";
import { DEFAULT_SCOPE, DEFAULT_URL, brokerBaseUrl, tokenProvider } from "./connection.js";
import { CliError, oneLine } from "./errors.js";
import { painter, wantsColor } from "./table.js";
import { nonBlank } from "./commands/args.js";
import { PROG, type CliIo, type CommandContext } from "./commands/context.js";
import { registerDrift } from "./commands/drift.js";
import { registerImport } from "./commands/import.js";
import { registerInventory } from "./commands/inventory.js";
import { registerRevoke } from "./commands/revoke.js";
import { registerRotate } from "./commands/rotate.js";
import { registerRotatorConsent } from "./commands/rotator-consent.js";
import { registerSweep } from "./commands/sweep.js";
import { cliVersion } from "./version.js";
import { registerToken } from "./commands/token.js";
import { registerWhoami } from "./commands/whoami.js";
import { registerPolicy } from "./commands/policy.js";
import { registerDevToken } from "./commands/dev-token.js";

export type { CliIo } from "./commands/context.js";

interface GlobalOptions {
  url?: string;
  scope?: string;
}

/** Runs one command line; resolves to the exit code (0 ok, 1 failed, 2 usage). */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; every other commander error is a usage error.
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
      return 2;
    }
    const cliError =
      error instanceof CliError ? error : new CliError(`unexpected error: ${errorName(error)}`, 1);
    io.stderr.write(`${PROG}: ${oneLine(cliError.message, 500)}\n`);
    return cliError.exitCode;
  }
}

function errorName(error: unknown): string {
  // Only the class name: an unexpected error's message could quote anything.
  return error instanceof Error ? error.name : typeof error;
}

export function buildProgram(io: CliIo): Command {
  const program = new Command(PROG);
  // Set before any .command(): subcommands copy these settings when they are created.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`${PROG}: ${oneLine(s.replace(/^error: /, ""), 500)}\n`),
    })
    .description("Ops CLI of the token broker: inventory, import and revoke of managed credentials.")
    .version(cliVersion(), "--version", "the version of this CLI (package.json)")
    .option("--url <url>", `broker URL, with or without /api (env TOKEN_BROKER_URL, default ${DEFAULT_URL})`)
    .option(
      "--scope <scope>",
      `token scope for DefaultAzureCredential (env TOKEN_BROKER_SCOPE, default ${DEFAULT_SCOPE})`,
    )
    .addHelpText(
      "after",
      `
Authentication: TOKEN_BROKER_TOKEN (a Bearer token) if set, otherwise DefaultAzureCredential
(az login, managed identity, workload identity, AZURE_* environment) for the scope.

Examples:
  $ ${PROG} inventory list
  $ ${PROG} inventory list --status expiring --csv > expiring.csv
  $ ${PROG} inventory show pat-contoso-nuget
  $ ${PROG} import pat-contoso-nuget --kind pat --expires 30d --owner team@contoso.com < pat.txt
  $ ${PROG} revoke pat-contoso-nuget --yes
  $ ${PROG} rotator consent --client-id <app id> --org contoso --owner platform@contoso.com
  $ ${PROG} --url https://broker.example.net inventory list --json
  $ ${PROG} sweep rotation
  $ ${PROG} drift
  $ ${PROG} policy check policy/policy.json --expect policy/expect.json
`,
    );

  const client = (cmd: Command) => {
    const opts = cmd.optsWithGlobals<GlobalOptions>();
    const url = brokerBaseUrl(opts.url ?? (nonBlank(io.env["TOKEN_BROKER_URL"]) || DEFAULT_URL));
    const scope = opts.scope ?? (nonBlank(io.env["TOKEN_BROKER_SCOPE"]) || DEFAULT_SCOPE);
    return new BrokerClient({
      baseUrl: url,
      token: tokenProvider(io.env, scope),
      ...(io.fetch ? { fetch: io.fetch } : {}),
    });
  };
  const paint = () => painter(wantsColor(io.stdout, io.env));
  const out = (text: string) => io.stdout.write(text);
  const json = (value: unknown) => out(`${JSON.stringify(value, null, 2)}\n`);

  const ctx: CommandContext = { io, client, paint, out, json };
  // Help lists the commands in this order.
  registerInventory(program, ctx);
  registerImport(program, ctx);
  registerRotate(program, ctx);
  registerRevoke(program, ctx);
  registerRotatorConsent(program, ctx);
  registerSweep(program, ctx);
  registerDrift(program, ctx);
  registerToken(program, ctx);
  registerWhoami(program, ctx);
  registerPolicy(program, ctx);
  registerDevToken(program, ctx);
  return program;
}
