import { type Command, InvalidArgumentError, Option } from "commander";
import { PROFILE_NAME } from "../../policy/schema.js";
import type { PolicyExplainBody } from "../broker-client.js";
import { CliError, UsageError } from "../errors.js";
import { readInputFile, runPolicyCheck, type PolicyCheckArgs } from "../policy-check.js";
import { explanationText } from "../policy-text.js";
import { guidArg } from "./args.js";
import { type CommandContext, PROG } from "./context.js";

function profileArg(raw: string): string {
  if (!PROFILE_NAME.test(raw)) throw new InvalidArgumentError("not a profile name.");
  return raw;
}

interface ExplainOptions {
  profile: string;
  claims?: string;
  tokenFile?: string;
  issuer?: "entra" | "trusted";
  json?: true;
}

/** The request body: the claims or token of a file (never argv: `ps` shows it), else none (the caller). */
function explainBody(opts: ExplainOptions): PolicyExplainBody {
  const body: PolicyExplainBody = { profile: opts.profile };
  if (opts.claims !== undefined) {
    try {
      body.claims = JSON.parse(readInputFile(opts.claims, "claims")) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof CliError) throw error;
      // Not the parser's message: it quotes the text, which may hold a token.
      throw new UsageError(`the claims file ${opts.claims} is not JSON`);
    }
  }
  if (opts.tokenFile !== undefined) body.token = readInputFile(opts.tokenFile, "token").trim();
  if (opts.issuer !== undefined) body.issuer = opts.issuer;
  return body;
}

/** `token-broker policy check` (offline) and `token-broker policy explain` (asks the broker). */
export function registerPolicy(program: Command, ctx: CommandContext): void {
  const { client, out, json, paint, io } = ctx;
  const policy = program
    .command("policy")
    .description("check a policy file before it ships, or ask the broker why a profile is granted or not");

  policy
    .command("check")
    .description("validate a policy file offline with the broker's own rules, and run expectation cases")
    .argument("<file>", "the policy JSON (e.g. policy/policy.json)")
    .option(
      "--expect <file>",
      "cases to hold: [{name?, claims, issuer?, profile, allow}] (or {cases: [...]})",
    )
    .option("--control-client-id <guid>", "the control identity (default: env AZURE_CLIENT_ID)", guidArg)
    .option(
      "--minting-client-id <guid>",
      "the minting identity (default: env BROKER_MINTING_CLIENT_ID)",
      guidArg,
    )
    .option("--dev-stack", "as the dev stack loads it (Teams URLs may be http to loopback)")
    .option("--json", "the result as JSON")
    .addHelpText(
      "after",
      `
Each problem is printed as "JSON path: message"; exit 1 on any problem or failed expectation,
0 otherwise, 2 for usage. Claims of a case are taken as Entra's when iss is absent or an Entra
issuer, else as another trusted issuer's (or as its "issuer" says).

Examples:
  $ ${PROG} policy check policy/policy.json
  $ ${PROG} policy check policy/policy.json --expect policy/expect.json
  $ BROKER_MINTING_CLIENT_ID=<client id> ${PROG} policy check policy/policy.json --json
`,
    )
    .action((file: string, opts: Omit<PolicyCheckArgs, "file">) => {
      runPolicyCheck({ file, ...opts }, io.env, { out, json, paint });
    });

  policy
    .command("explain")
    .description(
      "why a profile is granted or not, grant by grant (role Policy.Read; without it: yourself, the decision only)",
    )
    .requiredOption("--profile <name>", "the profile", profileArg)
    .addOption(new Option("--claims <file>", "explain these claims (a JSON object)").conflicts("tokenFile"))
    .addOption(
      new Option("--token-file <file>", "explain this token's claims (decoded, not verified)").conflicts(
        "claims",
      ),
    )
    .addOption(
      new Option("--issuer <kind>", "take the claims as Entra's or another trusted issuer's").choices([
        "entra",
        "trusted",
      ]),
    )
    .option("--json", "the broker's answer as JSON")
    .addHelpText(
      "after",
      `
Without --claims or --token-file the broker explains your own verified token.

Examples:
  $ ${PROG} policy explain --profile ado-read
  $ ${PROG} policy explain --profile ado-read --claims claims.json
  $ ${PROG} policy explain --profile nuget-feed --token-file caller.jwt --json
`,
    )
    .action(async (opts: ExplainOptions, cmd: Command) => {
      const answer = await client(cmd).explain(explainBody(opts));
      if (opts.json) json(answer);
      else out(explanationText(answer, paint()));
    });
}
