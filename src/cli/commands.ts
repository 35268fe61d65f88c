import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import {
  BrokerClient,
  KINDS,
  ROTATIONS,
  STATUSES,
  type ImportBody,
  type Kind,
  type Rotation,
  type Status,
} from "./broker-client.js";
import { DEFAULT_SCOPE, DEFAULT_URL, brokerBaseUrl, tokenProvider } from "./connection.js";
import { CliError, UsageError, oneLine } from "./errors.js";
import { confirm, readSecretValue, type TerminalIn } from "./secret-input.js";
import { day, inventoryTable, itemDetails, painter, versionsTable, wantsColor } from "./table.js";
import { SECRET_NAME, SPA_REFUSED } from "../inventory/managed-credential.js";
import { consentByDeviceCode } from "./consent.js";

/** Everything the CLI touches outside itself, so tests can run it in-process too. */
export interface CliIo {
  stdin: TerminalIn;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
}

const PROG = "token-broker";

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
    .option("--url <url>", `broker URL (env TOKEN_BROKER_URL, default ${DEFAULT_URL})`)
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
  $ ${PROG} import pat-contoso-nuget --kind pat --expires 2026-12-24 --owner team@contoso.com < pat.txt
  $ ${PROG} revoke pat-contoso-nuget --yes
  $ ${PROG} rotator consent --client-id <app id> --org contoso --owner platform@contoso.com
  $ ${PROG} --url https://broker.example.net inventory list --json
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

  const inventory = program
    .command("inventory")
    .description("list and inspect managed credentials (role Inventory.Read)");

  inventory
    .command("list")
    .description("list managed credentials, all pages unless --top is given")
    .addOption(new Option("--kind <kind>", "only this kind").choices(KINDS))
    .addOption(new Option("--status <status>", "only this status").choices(STATUSES))
    .option("--owner <owner>", "only this owner (whole value, any case)")
    .option("--expiring-within <days>", "only those expiring within DAYS days", intArg(0, 3650))
    .option("--top <n>", "one page of at most N (1-100)", intArg(1, 100))
    .addOption(new Option("--json", "JSON instead of a table").conflicts("csv"))
    .addOption(new Option("--csv", "the broker's CSV (RFC 4180), every match").conflicts(["json", "top"]))
    .addHelpText(
      "after",
      `
Examples:
  $ ${PROG} inventory list
  $ ${PROG} inventory list --kind pat --status expiring
  $ ${PROG} inventory list --expiring-within 14 --owner team-build@contoso.com
  $ ${PROG} inventory list --top 20 --json
  $ ${PROG} inventory list --csv > inventory.csv
`,
    )
    .action(async (opts: ListOptions, cmd: Command) => {
      const broker = client(cmd);
      const filter = {
        kind: opts.kind,
        status: opts.status,
        owner: opts.owner,
        expiringWithinDays: opts.expiringWithin,
      };
      if (opts.csv) {
        out(await broker.listCsv(filter));
        return;
      }
      const page =
        opts.top === undefined
          ? { items: await broker.listAll(filter), continuation: null }
          : await broker.list({ ...filter, top: opts.top });
      if (opts.json) {
        json(page);
        return;
      }
      if (page.items.length === 0) out("No managed credentials match.\n");
      else out(inventoryTable(page.items, paint()));
      if (page.continuation !== null) {
        io.stderr.write(
          `(more credentials: raise --top, drop it to list all, or use --json for the continuation)\n`,
        );
      }
    });

  inventory
    .command("show")
    .description("one credential's metadata (never its value)")
    .argument("<name>", "credential name", nameArg)
    .option("--json", "JSON instead of text")
    .addHelpText(
      "after",
      `
Examples:
  $ ${PROG} inventory show pat-contoso-nuget
  $ ${PROG} inventory show pat-contoso-nuget --json
`,
    )
    .action(async (name: string, opts: { json?: true }, cmd: Command) => {
      const item = await client(cmd).show(name);
      if (opts.json) json(item);
      else out(itemDetails(item, paint()));
    });

  inventory
    .command("versions")
    .description("a credential's versions (metadata)")
    .argument("<name>", "credential name", nameArg)
    .option("--json", "JSON instead of a table")
    .addHelpText(
      "after",
      `
Examples:
  $ ${PROG} inventory versions pat-contoso-nuget
`,
    )
    .action(async (name: string, opts: { json?: true }, cmd: Command) => {
      const versions = await client(cmd).versions(name);
      if (opts.json) json({ items: versions });
      else out(versionsTable(versions, paint()));
    });

  program
    .command("import")
    .description(
      "import or update a credential (role Secrets.Admin); the value comes from stdin or a hidden prompt",
    )
    .argument("<name>", "credential name", nameArg)
    .addOption(new Option("--kind <kind>", "what the value is").choices(KINDS).makeOptionMandatory())
    .option(
      "--expires <date>",
      "when the credential expires (YYYY-MM-DD, UTC, or ISO 8601); required with a value",
      dateArg,
    )
    .option(
      "--create",
      "no value: the broker creates the credential upstream itself, so no person sees it (pat: --org, --scopes, --lifetime-days; client-secret: --application-object-id, --client-id, --lifetime-days)",
    )
    .option("--owner <owner>", "who gets the expiry notices (required for a new credential)")
    .option("--org <organization>", "Azure DevOps organization (pat, refresh-token)")
    .option("--all-orgs", "pat: a legacy PAT valid in every organization (flagged in the inventory)")
    .option("--scopes <list>", "comma-separated scopes, e.g. vso.code,vso.packaging", listArg)
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
    // Declared only to refuse it with the reason, rather than an unhelpful "unknown option".
    .addOption(new Option("--value <value>").hideHelp())
    .addHelpText(
      "after",
      `
The value is never taken from the command line (shell history, process list): pipe it on
stdin, or type it at the hidden prompt. One trailing newline is dropped.

Examples:
  $ ${PROG} import pat-contoso-nuget --kind pat --expires 2026-12-24 \\
      --owner team-build@contoso.com --org contoso --scopes vso.code,vso.packaging < pat.txt
  $ ${PROG} import pat-contoso-nuget --kind pat --expires 2026-12-24 --owner team@contoso.com
  Value for pat-contoso-nuget (input hidden):
  $ ${PROG} import app-secret --kind client-secret --expires 2027-01-31T00:00:00Z \\
      --owner team-platform@contoso.com --application-object-id <id> --key-id <id> --recover < secret.txt
  $ ${PROG} import pat-contoso-code --kind pat --create --owner team@contoso.com --org contoso \\
      --scopes vso.code --lifetime-days 30 --rotation auto
`,
    )
    .action(async (name: string, opts: ImportOptions, cmd: Command) => {
      if (opts.value !== undefined) {
        throw new UsageError(
          "--value is refused: a secret on the command line lands in shell history and the process list; pipe it on stdin or type it at the prompt",
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
        ...(opts.allOrgs === true ? { allOrgs: true } : {}),
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
      };
      const { created, item } = await broker.put(name, body, opts.recover === true);
      const p = paint();
      const days = item.daysLeft === null ? "" : `, ${item.daysLeft} days left`;
      out(
        `${created ? "Imported" : "Updated"} ${item.name}: ${item.kind}, expires ${day(item.expiresOn)}${days}, ${p.status(item.status)}, version ${item.version ?? "-"}\n`,
      );
      for (const warning of item.warnings) io.stderr.write(`warning: ${oneLine(warning)}\n`);
    });

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

  const rotator = program
    .command("rotator")
    .description("the PAT rotator's user-delegated grant (refresh token)");

  rotator
    .command("consent")
    .description(
      "sign the rotator's user in once (device code flow) and store the grant through the inventory (role Secrets.Admin)",
    )
    .requiredOption("--client-id <id>", "the Entra app the user signs in to (its client id)", guidArg)
    .addOption(
      new Option("--client-type <type>", "how the app redeems its refresh tokens")
        .choices(["public", "confidential", "spa"])
        .default("public"),
    )
    .option(
      "--client-secret-name <name>",
      "confidential: the managed client-secret credential holding the app's secret (the broker sends it on every redemption)",
      nameArg,
    )
    .option("--org <organization>", "serve only this Azure DevOps organization (default: every one)")
    .option(
      "--name <name>",
      "the grant's credential name (default ado-rotator or ado-rotator-<org>)",
      nameArg,
    )
    .option("--owner <owner>", "who gets the grant's notices (required for a new grant)")
    .option("--tenant <id>", "the tenant (env BROKER_TENANT_ID, then AZURE_TENANT_ID)", guidArg)
    .option(
      "--authority-host <url>",
      "Entra authority host (env AZURE_AUTHORITY_HOST, default https://login.microsoftonline.com)",
    )
    .option("--timeout <seconds>", "stop waiting for the sign-in after this long", intArg(10, 3600))
    .addHelpText(
      "after",
      `
The user opens the page shown and enters the code; the broker then stores the refresh token as a
refresh-token credential. The token is never shown, logged or put on a command line. It expires
after 90 days without use (the broker redeems it on every rotation sweep, so it stays alive).

Client types: public (allow public client flows; no secret), confidential (a web app: its secret
is read from stdin or a hidden prompt for this one sign-in, and from --client-secret-name by the
broker afterwards), spa (refused: Entra limits SPA refresh tokens to 24 hours, cross-origin only).

Examples:
  $ ${PROG} rotator consent --client-id 00000000-0000-0000-0000-000000000000 \
      --org contoso --owner platform@contoso.com
  To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code …
  $ ${PROG} rotator consent --client-id <web app id> --client-type confidential \
      --client-secret-name rotator-app-secret --owner platform@contoso.com < secret.txt
`,
    )
    .action(async (opts: ConsentCliOptions, cmd: Command) => {
      if (opts.clientType === "spa") throw new UsageError(SPA_REFUSED);
      const confidential = opts.clientType === "confidential";
      if (confidential && opts.clientSecretName === undefined) {
        throw new UsageError(
          "--client-type confidential needs --client-secret-name (the credential with its secret)",
        );
      }
      if (!confidential && opts.clientSecretName !== undefined) {
        throw new UsageError("--client-secret-name is only for --client-type confidential");
      }
      const tenantId =
        opts.tenant ??
        (nonBlank(io.env["BROKER_TENANT_ID"]) || nonBlank(io.env["AZURE_TENANT_ID"]) || undefined);
      if (tenantId === undefined) {
        throw new UsageError(
          "the tenant is unknown: give --tenant, or set BROKER_TENANT_ID or AZURE_TENANT_ID",
        );
      }
      if (!GUID.test(tenantId))
        throw new UsageError("the tenant must be a GUID (the broker's BROKER_TENANT_ID)");
      const authorityHost = authorityArg(
        opts.authorityHost ??
          (nonBlank(io.env["AZURE_AUTHORITY_HOST"]) || "https://login.microsoftonline.com"),
      );
      const name = opts.name ?? (opts.org !== undefined ? `ado-rotator-${opts.org}` : "ado-rotator");
      if (!SECRET_NAME.test(name))
        throw new UsageError("--name: a name is 1-127 letters, digits and dashes.");

      // Everything the broker could refuse is checked before a person is asked to sign in.
      const broker = client(cmd);
      const existing = await broker.find(name);
      if (existing !== undefined && existing.kind !== "refresh-token") {
        throw new CliError(`${name} is a ${existing.kind}, not a rotator grant; choose another --name`);
      }
      if (existing === undefined && opts.owner === undefined) {
        throw new UsageError(`--owner is required for a new grant (${name} does not exist yet)`);
      }
      let clientSecret: string | undefined;
      if (confidential) {
        const secretName = opts.clientSecretName as string;
        const secret = await broker.find(secretName);
        if (secret === undefined || secret.kind !== "client-secret") {
          throw new CliError(
            `${secretName} is not a managed client-secret credential: import the app's secret first`,
          );
        }
        if (secret.clientId !== undefined && secret.clientId.toLowerCase() !== opts.clientId.toLowerCase()) {
          throw new CliError(`${secretName} holds the secret of another client (${secret.clientId})`);
        }
        clientSecret = await readSecretValue(
          io.stdin,
          io.stderr,
          `Client secret of ${opts.clientId} (input hidden): `,
        );
      }

      const consented = await consentByDeviceCode({
        authorityHost,
        tenantId,
        clientId: opts.clientId,
        ...(clientSecret !== undefined ? { clientSecret } : {}),
        showMessage: (message) => io.stderr.write(`${oneLine(message, 500)}\n`),
        ...(opts.timeout !== undefined ? { timeoutSeconds: opts.timeout } : {}),
      });
      const body: ImportBody = {
        kind: "refresh-token",
        value: consented.refreshToken,
        lastRedeemed: consented.redeemedAt.toISOString(),
        clientId: opts.clientId,
        clientType: opts.clientType,
        ...(opts.clientSecretName !== undefined ? { clientSecretName: opts.clientSecretName } : {}),
        ...(opts.org !== undefined ? { organization: opts.org } : {}),
        ...(opts.owner !== undefined ? { owner: opts.owner } : {}),
      };
      const { created, item } = await broker.put(name, body, false);
      const who =
        consented.username !== undefined ? `, signed in as ${oneLine(consented.username, 120)}` : "";
      out(
        `${created ? "Stored" : "Replaced"} ${item.name}: rotator grant of ${opts.clientId} (${item.clientType ?? opts.clientType})${who}; last redeemed ${item.lastRedeemed ?? consented.redeemedAt.toISOString()}, expires ${day(item.expiresOn)} after 90 days without use, version ${item.version ?? "-"}\n`,
      );
    });

  return program;
}

interface ConsentCliOptions {
  clientId: string;
  clientType: "public" | "confidential" | "spa";
  clientSecretName?: string;
  org?: string;
  name?: string;
  owner?: string;
  tenant?: string;
  authorityHost?: string;
  timeout?: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function guidArg(raw: string): string {
  if (!GUID.test(raw)) throw new InvalidArgumentError("must be a GUID.");
  return raw.toLowerCase();
}

/** The authority host: https (MSAL refuses anything else), an origin without path, user or query. */
function authorityArg(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError("the authority host is not a URL");
  }
  if (url.protocol !== "https:" || url.username !== "" || url.password !== "") {
    throw new UsageError("the authority host must be https:// without a user name or password");
  }
  return url.origin;
}

interface ListOptions {
  kind?: Kind;
  status?: Status;
  owner?: string;
  expiringWithin?: number;
  top?: number;
  json?: true;
  csv?: true;
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
  value?: string;
}

function nonBlank(value: string | undefined): string {
  return value?.trim() ?? "";
}

function intArg(min: number, max: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw)) throw new InvalidArgumentError(`not a whole number.`);
    const n = Number(raw);
    if (n < min || n > max) throw new InvalidArgumentError(`must be ${min}-${max}.`);
    return n;
  };
}

function nameArg(raw: string): string {
  if (!SECRET_NAME.test(raw)) throw new InvalidArgumentError("a name is 1-127 letters, digits and dashes.");
  return raw;
}

/** A day (taken as midnight UTC) or an ISO 8601 date-time with a zone; sent as ISO 8601 UTC. */
function dateArg(raw: string): string {
  const dayOnly = /^\d{4}-\d{2}-\d{2}$/.test(raw);
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(raw);
  const time = Date.parse(dayOnly ? `${raw}T00:00:00Z` : raw);
  if ((!dayOnly && !withZone) || Number.isNaN(time)) {
    throw new InvalidArgumentError("use YYYY-MM-DD or an ISO 8601 date-time with a zone (…Z).");
  }
  return new Date(time).toISOString();
}

function listArg(raw: string): string[] {
  const list = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (list.length === 0) throw new InvalidArgumentError("an empty list.");
  return list;
}
