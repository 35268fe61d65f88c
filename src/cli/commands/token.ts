import { type Command, InvalidArgumentError, Option } from "commander";
import { PROFILE_NAME } from "../../policy/schema.js";
import { type CommandContext, PROG } from "./context.js";

const OUTPUTS = ["json", "header", "value"] as const;
type Output = (typeof OUTPUTS)[number];

function profileArg(raw: string): string {
  if (!PROFILE_NAME.test(raw)) throw new InvalidArgumentError("not a profile name.");
  return raw;
}

/**
 * `token PROFILE`: the caller side, for scripts (as `az account get-access-token`). The one
 * command that prints a credential: its point is to hand it to the next program in the pipe.
 */
export function registerToken(program: Command, ctx: CommandContext): void {
  const { client, out, json } = ctx;
  program
    .command("token")
    .description("get a credential for a profile you are granted, for scripts (prints it)")
    .argument("<profile>", "profile name from the broker's policy", profileArg)
    .addOption(
      new Option(
        "-o, --output <format>",
        "json: the broker's answer; header: the Authorization value; value: the bare token or PAT",
      )
        .choices(OUTPUTS)
        .default("json"),
    )
    .addHelpText(
      "after",
      `
Examples:
  $ ${PROG} token ado-read
  $ export GIT_AUTH_HEADER="AUTHORIZATION: $(${PROG} token nuget-feed --output header)"
  $ git --config-env=http.extraheader=GIT_AUTH_HEADER clone https://dev.azure.com/contoso/project/_git/repo
  $ PAT=$(${PROG} token nuget-feed --output value)

For git itself the credential helper is simpler: see git-credential-token-broker --help.
`,
    )
    .action(async (profile: string, opts: { output: Output }, cmd: Command) => {
      const answer = await client(cmd).token(profile);
      if (opts.output === "json") json(answer);
      else out(`${opts.output === "header" ? answer.authorization : answer.access_token}\n`);
    });
}
