import { PROFILE_NAME } from "../policy/schema.js";
import { BrokerClient } from "./broker-client.js";
import { DEFAULT_SCOPE, DEFAULT_URL, brokerBaseUrl, tokenProvider } from "./connection.js";
import { CliError, UsageError, oneLine } from "./errors.js";
import {
  MAX_INPUT_BYTES,
  assertSafeDestination,
  descriptionEnd,
  formatAnswer,
  parseDescription,
} from "./git-credential-protocol.js";

export const HELPER = "git-credential-token-broker";

/** Everything the helper touches outside itself, so tests can run it in-process too. */
export interface HelperIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

interface HelperArgs {
  profile?: string;
  url?: string;
  scope?: string;
  action?: string;
  help?: true;
}

const USAGE = `usage: ${HELPER} --profile NAME [--url URL] [--scope SCOPE] get|store|erase

A git credential helper: git runs it, e.g. after
  git config --global credential.https://dev.azure.com/contoso.helper "token-broker --profile nuget-feed"
and it answers with the profile's credential from the token broker. The broker and the caller's
identity come as for token-broker: --url / TOKEN_BROKER_URL, TOKEN_BROKER_TOKEN, else
DefaultAzureCredential for --scope / TOKEN_BROKER_SCOPE.
`;

/**
 * Runs the helper for one git request; resolves to the exit code. `get` prints the credential
 * on stdout in git's format; `store` and `erase` have nothing to keep (the broker is the store)
 * and, like any operation git may add later, are read and ignored.
 */
export async function runGitCredential(argv: readonly string[], io: HelperIo): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (args.action === undefined) throw new UsageError("no operation: git runs it with get, store or erase");
    if (args.action !== "get") {
      await drain(io.stdin);
      return 0;
    }
    const profile = args.profile;
    if (profile === undefined) throw new UsageError("--profile is required");
    const description = parseDescription(await readDescription(io.stdin));
    assertSafeDestination(description);
    const url = brokerBaseUrl(args.url ?? (io.env["TOKEN_BROKER_URL"]?.trim() || DEFAULT_URL));
    const scope = args.scope ?? (io.env["TOKEN_BROKER_SCOPE"]?.trim() || DEFAULT_SCOPE);
    const client = new BrokerClient({
      baseUrl: url,
      token: tokenProvider(io.env, scope),
      ...(io.fetch ? { fetch: io.fetch } : {}),
      ...(io.sleep ? { sleep: io.sleep } : {}),
    });
    const answer = await client.token(profile);
    io.stdout.write(
      formatAnswer(description, {
        token: answer.access_token,
        tokenType: answer.token_type,
        expiresOn: new Date(answer.expires_on),
      }),
    );
    return 0;
  } catch (error) {
    // Only our own messages: an unexpected error's could quote anything, a credential included.
    const cliError =
      error instanceof CliError
        ? error
        : new CliError(`unexpected error: ${error instanceof Error ? error.name : typeof error}`);
    io.stderr.write(`${HELPER}: ${oneLine(cliError.message, 500)}\n`);
    return cliError.exitCode;
  }
}

/** `--profile NAME` or `--profile=NAME` (and --url, --scope), then the one operation git names. */
export function parseArgs(argv: readonly string[]): HelperArgs {
  const args: HelperArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const option = /^--(profile|url|scope)(?:=(.*))?$/s.exec(arg);
    if (option) {
      const name = option[1] as "profile" | "url" | "scope";
      const value = option[2] ?? argv[++i];
      if (value === undefined || value === "") throw new UsageError(`--${name} needs a value`);
      if (args[name] !== undefined) throw new UsageError(`--${name} is given twice`);
      args[name] = value;
    } else if (arg === "--help" || arg === "-h") {
      return { help: true };
    } else if (arg.startsWith("-")) {
      throw new UsageError(`unknown option ${oneLine(arg, 40)}`);
    } else if (args.action === undefined) {
      args.action = arg;
    } else {
      throw new UsageError("more than one operation");
    }
  }
  if (args.profile !== undefined && !PROFILE_NAME.test(args.profile)) {
    throw new UsageError("--profile is not a profile name (letters, digits, '.', '_', '-'; up to 64)");
  }
  return args;
}

/** git's description: up to its blank line (or the end), never more than MAX_INPUT_BYTES. */
function readDescription(stdin: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let bytes = Buffer.alloc(0);
    const done = (error?: Error) => {
      stdin.off("data", onData).off("end", onEnd).off("error", onError);
      stdin.pause();
      if (error) reject(error);
      else resolve(bytes);
    };
    const onData = (chunk: Buffer | string) => {
      bytes = Buffer.concat([bytes, typeof chunk === "string" ? Buffer.from(chunk) : chunk]);
      if (bytes.length > MAX_INPUT_BYTES) done(new CliError(`input over ${MAX_INPUT_BYTES} bytes`));
      else if (descriptionEnd(bytes) >= 0) done();
    };
    const onEnd = () => done();
    const onError = () => done(new CliError("cannot read the request from git on stdin"));
    stdin.on("data", onData).on("end", onEnd).on("error", onError);
  });
}

/** Reads stdin to its end and forgets it: `store` gets the password, which has nowhere to go. */
function drain(stdin: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    stdin.on("data", () => undefined);
    stdin.once("end", resolve).once("error", () => resolve());
  });
}
