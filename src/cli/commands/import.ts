import { type Command, Option } from "commander";
import {
  KINDS,
  ProblemError,
  ROTATIONS,
  type ImportBody,
  type Kind,
  type Rotation,
} from "../broker-client.js";
import { CliError, UsageError, oneLine } from "../errors.js";
import { scopeHelp } from "../field-flags.js";
import { readSecretValue } from "../secret-input.js";
import { day } from "../table.js";
import { intArg, nameArg, dateArg, expiryArg, listArg } from "./args.js";
import { type CommandContext, PROG } from "./context.js";

export function registerImport(program: Command, ctx: CommandContext): void {
  const { io, client, paint, out } = ctx;
  program
    .command("import")
    .description(
      "import or update a credential (role Secrets.Admin); the value comes from stdin or a hidden prompt",
    )
    .argument("<name>", "credential name", nameArg)
    .addOption(new Option("--kind <kind>", "what the value is").choices(KINDS).makeOptionMandatory())
    .option(
      "--expires <when>",
      "when the credential expires: a duration from now (30d, 12h, 2w), YYYY-MM-DD (UTC) or ISO 8601; required with a value",
      (raw: string) => expiryArg(raw),
    )
    .option(
      "--create",
      "no value: the broker creates the credential upstream itself, so no person sees it (pat: --org, --scopes, --lifetime-days; client-secret: --application-object-id, --client-id, --lifetime-days)",
    )
    .option("--owner <owner>", "who gets the expiry notices (required for a new credential)")
    .option("--org <organization>", "Azure DevOps organization (pat, refresh-token)")
    .option("--scopes <list>", "comma-separated scopes, e.g. vso.code,vso.packaging (all below)", listArg)
    .addOption(new Option("--rotation <mode>", "rotation mode").choices(ROTATIONS))
    .option("--lifetime-days <days>", "lifetime of a rotated credential (1-366)", intArg(1, 366))
    .option("--authorization-id <id>", "PAT authorization id (for rotation and revocation)")
    .option("--application-object-id <id>", "client-secret: the app's object id")
    .option("--key-id <id>", "client-secret: the password's key id")
    .option("--client-id <id>", "client-secret, refresh-token: the app's client id")
    .addOption(
      new Option("--client-type <type>", "refresh-token: how its client redeems it (default public)").choices(
        ["public", "confidential", "spa"],
      ),
    )
    .option(
      "--client-secret-name <name>",
      "refresh-token, confidential client: the managed client-secret credential with its secret",
      nameArg,
    )
    .option(
      "--last-redeemed <date>",
      "refresh-token: when it was obtained (its expiry is 90 days of inactivity from then); required with a value",
      dateArg,
    )
    .option("--recover", "recover a soft-deleted credential of this name, then update it")
    .option("--no-verify", "pat: store the value without first proving it at Azure DevOps")
    // Declared only to refuse it with the reason, rather than an unhelpful "unknown option".
    .addOption(new Option("--value <value>").hideHelp())
    // Global PATs were retired by Azure DevOps: refused with the reason, not "unknown option".
    .addOption(new Option("--all-orgs").hideHelp())
    .addHelpText(
      "after",
      `
The value is never taken from the command line (shell history, process list): pipe it on
stdin, or type it at the hidden prompt. One trailing newline is dropped.

--expires takes a duration from now (30d, 12h, 2w) as well as a date, so scripts do not go stale.

Scopes (--scopes, pat):
${scopeHelp()}

Examples:
  $ ${PROG} import pat-contoso-nuget --kind pat --expires 30d \\
      --owner team-build@contoso.com --org contoso --scopes vso.code,vso.packaging < pat.txt
  $ ${PROG} import pat-contoso-nuget --kind pat --expires 30d --owner team@contoso.com
  Value for pat-contoso-nuget (input hidden):
  $ ${PROG} import app-secret --kind client-secret --expires 180d \\
      --owner team-platform@contoso.com --application-object-id <id> --key-id <id> --recover < secret.txt
  $ ${PROG} import pat-contoso-code --kind pat --create --owner team@contoso.com --org contoso \\
      --scopes vso.code --lifetime-days 30 --rotation auto
`,
    )
    .action(async (name: string, opts: ImportOptions, cmd: Command) => {
      if (opts.allOrgs === true) {
        throw new UsageError(
          "--all-orgs is refused: global PATs stopped working on 2026-12-01 (Azure DevOps retired them); import one PAT per organization (--org), or use an Entra profile for Azure DevOps",
        );
      }
      if (opts.value !== undefined) {
        throw new UsageError(
          "--value is refused: a secret on the command line lands in shell history and the process list; pipe it on stdin or type it at the prompt",
        );
      }
      if (opts.create === true && opts.recover === true) {
        throw new UsageError(
          `--create makes a new credential, --recover brings back a soft-deleted one: not both (recover it, then \`${PROG} rotate ${name}\` for a new value)`,
        );
      }
      if (opts.create === true && opts.expires !== undefined) {
        throw new UsageError("--create takes no --expires: the broker sets it from --lifetime-days");
      }
      if (opts.kind === "refresh-token") {
        // A refresh token's expiry is Entra's (90 days without use), not a choice.
        if (opts.expires !== undefined) {
          throw new UsageError(
            "--expires is not taken for a refresh token: give --last-redeemed (expiry is 90 days on)",
          );
        }
        if (opts.create !== true && opts.lastRedeemed === undefined) {
          throw new UsageError("--last-redeemed is required with a refresh token (when it was obtained)");
        }
      } else if (opts.create !== true && opts.expires === undefined) {
        throw new UsageError("--expires is required with a value (or use --create)");
      }
      const broker = client(cmd);
      await broker.authenticate();
      const value =
        opts.create === true
          ? undefined
          : await readSecretValue(io.stdin, io.stderr, `Value for ${name} (input hidden): `);
      const body: ImportBody = {
        kind: opts.kind,
        ...(value !== undefined ? { value } : {}),
        ...(opts.expires !== undefined ? { expiresOn: opts.expires } : {}),
        ...(opts.owner !== undefined ? { owner: opts.owner } : {}),
        ...(opts.org !== undefined ? { organization: opts.org } : {}),
        ...(opts.scopes !== undefined ? { scopes: opts.scopes } : {}),
        ...(opts.rotation !== undefined ? { rotation: opts.rotation } : {}),
        ...(opts.lifetimeDays !== undefined ? { lifetimeDays: opts.lifetimeDays } : {}),
        ...(opts.authorizationId !== undefined ? { authorizationId: opts.authorizationId } : {}),
        ...(opts.applicationObjectId !== undefined ? { applicationObjectId: opts.applicationObjectId } : {}),
        ...(opts.keyId !== undefined ? { keyId: opts.keyId } : {}),
        ...(opts.clientId !== undefined ? { clientId: opts.clientId } : {}),
        ...(opts.clientType !== undefined ? { clientType: opts.clientType } : {}),
        ...(opts.clientSecretName !== undefined ? { clientSecretName: opts.clientSecretName } : {}),
        ...(opts.lastRedeemed !== undefined ? { lastRedeemed: opts.lastRedeemed } : {}),
        ...(!opts.verify ? { verify: false } : {}),
      };
      const { created, item } = await broker
        .put(name, body, opts.recover === true, opts.create === true)
        .catch((error: unknown) => {
          if (error instanceof ProblemError && error.code === "credential_exists") {
            throw new CliError(
              `${name} exists already, so --create made nothing and changed nothing: \`${PROG} rotate ${name}\` gives it a new value, \`${PROG} import ${name}\` with a value replaces it`,
            );
          }
          throw error;
        });
      if (opts.create === true && !created) {
        // A broker that ignored If-None-Match updated what was there: say so, never "Imported".
        throw new CliError(`${name} existed: the broker updated its metadata instead of creating it`);
      }
      const p = paint();
      const days = item.daysLeft === null ? "" : `, ${item.daysLeft} days left`;
      out(
        `${created ? "Imported" : "Updated"} ${item.name}: ${item.kind}, expires ${day(item.expiresOn)}${days}, ${p.status(item.status)}, version ${item.version ?? "-"}\n`,
      );
      for (const warning of item.warnings) io.stderr.write(`warning: ${oneLine(warning)}\n`);
    });
}

interface ImportOptions {
  kind: Kind;
  expires?: string;
  create?: true;
  owner?: string;
  org?: string;
  allOrgs?: true;
  scopes?: string[];
  rotation?: Rotation;
  lifetimeDays?: number;
  authorizationId?: string;
  applicationObjectId?: string;
  keyId?: string;
  clientId?: string;
  clientType?: "public" | "confidential" | "spa";
  clientSecretName?: string;
  lastRedeemed?: string;
  recover?: true;
  /** commander's --no-verify: false when given. */
  verify: boolean;
  value?: string;
}
