import { type Command, Option } from "commander";
import { KINDS, STATUSES, type Kind, type Status } from "../broker-client.js";
import { inventoryTable, itemDetails, versionsTable } from "../table.js";
import { intArg, nameArg } from "./args.js";
import { type CommandContext, PROG } from "./context.js";

export function registerInventory(program: Command, ctx: CommandContext): void {
  const { io, client, paint, out, json } = ctx;
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
    .option("--continuation <token>", "one page, the one after the page that gave this continuation")
    .addOption(new Option("--json", "JSON instead of a table").conflicts("csv"))
    .addOption(
      new Option("--csv", "the broker's CSV (RFC 4180), every match").conflicts([
        "json",
        "top",
        "continuation",
      ]),
    )
    .addHelpText(
      "after",
      `
Examples:
  $ ${PROG} inventory list
  $ ${PROG} inventory list --kind pat --status expiring
  $ ${PROG} inventory list --expiring-within 14 --owner team-build@contoso.com
  $ ${PROG} inventory list --top 20 --json
  $ ${PROG} inventory list --top 20 --continuation <the continuation of the page before>
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
        opts.top === undefined && opts.continuation === undefined
          ? { items: await broker.listAll(filter), continuation: null }
          : await broker.list({ ...filter, top: opts.top, continuation: opts.continuation });
      if (opts.json) {
        json(page);
        return;
      }
      if (page.items.length === 0) out("No managed credentials match.\n");
      else out(inventoryTable(page.items, paint()));
      if (page.continuation !== null) {
        io.stderr.write(
          `(more credentials: the next page with --continuation ${page.continuation}, or drop --top to list all)\n`,
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
}

interface ListOptions {
  kind?: Kind;
  status?: Status;
  owner?: string;
  expiringWithin?: number;
  top?: number;
  continuation?: string;
  json?: true;
  csv?: true;
}
