import { type Command, Option } from "commander";
import { type ImportBody } from "../broker-client.js";
import { CliError, UsageError, oneLine } from "../errors.js";
import { readSecretValue } from "../secret-input.js";
import { day } from "../table.js";
import { SECRET_NAME, SPA_REFUSED } from "../../inventory/managed-credential.js";
import { consentByDeviceCode } from "../consent.js";
import { guidArg, authorityArg, nonBlank, intArg, nameArg, GUID } from "./args.js";
import { type CommandContext, PROG } from "./context.js";

export function registerRotatorConsent(program: Command, ctx: CommandContext): void {
  const { io, client, out } = ctx;
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
