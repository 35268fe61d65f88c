import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { randomPat } from "../src/local/sample-data.js";
import { assertOneLineFailure, runCli } from "./support/cli-process.js";
import { callerToken, knownPat, logsContain, startTestStack, type TestStack } from "./support/dev-stack.js";

/**
 * A port nothing listens on, held for the test: the local end of a live connection of ours, so no
 * other listener can be given it meanwhile (a freed port could be).
 */
async function closedPort(): Promise<{ port: number; release: () => void }> {
  const server = net.createServer((socket) => socket.on("error", () => undefined));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => client.once("connect", resolve).once("error", reject));
  return {
    port: client.localPort ?? assert.fail("no local port"),
    release: () => {
      client.destroy();
      server.close();
    },
  };
}

const DAY = 24 * 3600_000;

describe("ops CLI as a process against the dev stack", () => {
  let stack: TestStack;
  let admin: string;
  let ops: string;
  let env: Record<string, string>;

  before(async () => {
    // No quick re-tries of a new client secret: the emulators accept one only minutes later anyway.
    stack = await startTestStack({}, { rotationVerify: { retryDelaysMs: [] } });
    [admin, ops] = await Promise.all([callerToken(stack, "dev-admin"), callerToken(stack, "dev-ops")]);
    env = { TOKEN_BROKER_URL: stack.brokerUrl, TOKEN_BROKER_TOKEN: admin };
  });
  after(() => stack.close());

  test("--help shows examples, for the program and for each command", async () => {
    const root = await runCli(["--help"], {});
    assert.equal(root.code, 0);
    assert.match(root.stdout, /Examples:/);
    assert.match(root.stdout, /token-broker import .* < pat\.txt/);
    const imp = await runCli(["import", "--help"], {});
    assert.equal(imp.code, 0);
    assert.match(imp.stdout, /never taken from the command line/);
    assert.match(imp.stdout, /Examples:/);
  });

  test("import refuses --value, saying why, and echoes nothing of it", async () => {
    const canary = randomPat();
    const r = await runCli(
      [
        "import",
        "pat-cli-x",
        "--kind",
        "pat",
        "--expires",
        "2030-01-01",
        "--owner",
        "o@x",
        "--value",
        canary,
      ],
      env,
    );
    assertOneLineFailure(r, /--value is refused: .*shell history/, 2);
    assert.ok(!r.stderr.includes(canary));
    assert.ok(!stack.logs.some((l) => l.includes("pat-cli-x")), "nothing was sent to the broker");
  });

  test("--all-orgs is refused with the reason (global PATs were retired), before anything is sent", async () => {
    const r = await runCli(
      ["import", "pat-cli-global", "--kind", "pat", "--expires", "30d", "--owner", "o@x", "--all-orgs"],
      env,
    );
    assertOneLineFailure(
      r,
      /--all-orgs is refused: global PATs stopped working on 2026-12-01.*one PAT per organization/,
      2,
    );
    assert.ok(!stack.logs.some((l) => l.includes("pat-cli-global")), "nothing was sent to the broker");
    const help = await runCli(["import", "--help"], env);
    assert.ok(!help.stdout.includes("--all-orgs"), "not offered in the help");
  });

  test("a plain-http URL that is not loopback is refused before any token travels", async () => {
    const r = await runCli(["inventory", "list"], { ...env, TOKEN_BROKER_URL: "http://broker.example.net" });
    assertOneLineFailure(r, /refusing plain http to broker\.example\.net/, 2);
  });

  test("an unreachable broker is one line and exit 1", async () => {
    const closed = await closedPort();
    try {
      const r = await runCli(["--url", `http://127.0.0.1:${closed.port}`, "inventory", "list"], env);
      assertOneLineFailure(r, /cannot reach the broker at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    } finally {
      closed.release();
    }
  });

  test("inventory list: a table by default, filters, --json and --csv", async () => {
    const table = await runCli(["inventory", "list"], env);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split("\n");
    assert.match(lines[0] ?? "", /^NAME\s+KIND\s+OWNER\s+STATUS\s+DAYS LEFT\s+EXPIRES\s+ROTATION$/);
    assert.ok(
      lines.some((l) => /^pat-contoso-nuget\s+pat\s+team-build@contoso\.com\s+active\s+\d+\s+\d{4}-/.test(l)),
    );
    assert.ok(lines.some((l) => l.startsWith("app-downstream-secret ")));
    assert.ok(!table.stdout.includes("unrelated-db-password"), "only secrets the broker manages");
    assert.ok(!table.stdout.includes("\u001b["), "no colour into a pipe");

    const coloured = await runCli(["inventory", "list"], { ...env, FORCE_COLOR: "1" });
    assert.ok(coloured.stdout.includes("\u001b[32mactive"), "FORCE_COLOR: active is green");

    const pats = await runCli(["inventory", "list", "--kind", "pat", "--json"], env);
    assert.equal(pats.code, 0, pats.stderr);
    const parsed = JSON.parse(pats.stdout) as { items: { name: string; kind: string }[]; continuation: null };
    assert.ok(parsed.items.length > 0);
    assert.ok(parsed.items.every((i) => i.kind === "pat"));
    assert.ok(parsed.items.some((i) => i.name === "pat-contoso-nuget"));
    assert.equal(parsed.continuation, null);

    const soon = await runCli(["inventory", "list", "--expiring-within", "60", "--json"], env);
    const soonNames = (JSON.parse(soon.stdout) as { items: { name: string }[] }).items.map((i) => i.name);
    assert.ok(soonNames.includes("pat-contoso-nuget") && !soonNames.includes("app-downstream-secret"));

    const csv = await runCli(["inventory", "list", "--csv", "--owner", "team-platform@contoso.com"], env);
    assert.equal(csv.code, 0, csv.stderr);
    const rows = csv.stdout.trimEnd().split(/\r?\n/);
    assert.equal(
      rows[0],
      "name,kind,owner,organization,scopes,expiresOn,daysLeft,status,rotation,rotatedOn,version,enabled,createdOn,updatedOn",
    );
    assert.ok(
      rows.slice(1).every((r) => r.startsWith("app-downstream-secret,")),
      csv.stdout,
    );
    assert.equal(rows.length, 2);

    const paged = await runCli(["inventory", "list", "--top", "1", "--json"], env);
    assert.equal((JSON.parse(paged.stdout) as { items: unknown[] }).items.length, 1);
  });

  test("inventory show and versions; an unknown name is a one-line 404", async () => {
    const show = await runCli(["inventory", "show", "pat-contoso-nuget"], env);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^Name: +pat-contoso-nuget$/m);
    assert.match(show.stdout, /^Owner: +team-build@contoso\.com$/m);
    assert.match(show.stdout, /^Status: +active$/m);
    const json = await runCli(["inventory", "show", "pat-contoso-nuget", "--json"], env);
    assert.equal((JSON.parse(json.stdout) as { organization: string }).organization, "contoso");
    assert.ok(!json.stdout.includes('"value"'), "metadata only");

    const versions = await runCli(["inventory", "versions", "pat-contoso-nuget"], env);
    assert.equal(versions.code, 0, versions.stderr);
    assert.match(versions.stdout, /^VERSION\s+CURRENT\s+ENABLED/);

    assertOneLineFailure(await runCli(["inventory", "show", "no-such-credential"], env), /\(404 [a-z_]+\)$/m);
  });

  test("import reads the PAT from stdin, and it never shows in argv, output or logs; revoke --yes", async () => {
    const canary = knownPat(stack);
    const expires = new Date(Date.now() + 60 * DAY).toISOString().slice(0, 10);
    const args = [
      "import",
      "pat-cli-import",
      "--kind",
      "pat",
      "--expires",
      expires,
      "--owner",
      "team-cli@contoso.com",
      "--org",
      "contoso",
      "--scopes",
      "vso.code,vso.packaging",
      "--rotation",
      "manual",
    ];
    const imported = await runCli(args, env, `${canary}\n`);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(
      imported.stdout,
      new RegExp(`^Imported pat-cli-import: pat, expires ${expires}, \\d+ days left`),
    );
    assert.ok(!imported.argv.some((a) => a.includes(canary)), "argv never holds the value");

    const show = await runCli(["inventory", "show", "pat-cli-import", "--json"], env);
    const item = JSON.parse(show.stdout) as { owner: string; scopes: string[]; expiresOn: string };
    assert.equal(item.owner, "team-cli@contoso.com");
    assert.deepEqual(item.scopes, ["vso.code", "vso.packaging"]);
    assert.equal(item.expiresOn.slice(0, 10), expires);

    const again = await runCli(args, env, canary);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Updated pat-cli-import:/);

    const noYes = await runCli(["revoke", "pat-cli-import"], env);
    assertOneLineFailure(noYes, /needs --yes when stdin is not a terminal/, 2);

    const revoked = await runCli(["revoke", "pat-cli-import", "--yes"], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(
      revoked.stdout,
      /^Deleted pat-cli-import; nothing was revoked upstream: no authorization id or key id recorded .*; recoverable for \d+ days/,
    );
    assertOneLineFailure(await runCli(["inventory", "show", "pat-cli-import"], env), /\(404 [a-z_]+\)$/m);

    // A soft-deleted name comes back only when asked to.
    const deleted = await runCli(args, env, canary);
    assertOneLineFailure(deleted, /\(409 credential_deleted\)$/m);
    const recovered = await runCli([...args, "--recover"], env, canary);
    assert.equal(recovered.code, 0, recovered.stderr);
    assert.match(recovered.stdout, /^Updated pat-cli-import:/);

    const everything = [imported, show, again, noYes, revoked, deleted, recovered]
      .map((r) => r.stdout + r.stderr)
      .join("\n");
    assert.ok(!everything.includes(canary), "the value is in no output");
    assert.ok(!everything.includes(admin), "the token is in no output");
    assert.deepEqual(logsContain(stack.logs, [canary, admin]), [], "nor in the broker's logs");
  });

  test("import --create lets the broker make the PAT; rotate makes a new version", async () => {
    const created = await runCli(
      [
        "import",
        "pat-cli-made",
        "--kind",
        "pat",
        "--create",
        "--owner",
        "team-cli@contoso.com",
        "--org",
        "contoso",
        "--scopes",
        "vso.code",
        "--lifetime-days",
        "30",
        "--rotation",
        "auto",
      ],
      env,
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^Imported pat-cli-made: pat, expires \d{4}-\d{2}-\d{2}, (29|30) days left/);
    const before = JSON.parse(
      (await runCli(["inventory", "show", "pat-cli-made", "--json"], env)).stdout,
    ) as {
      version: string;
    };
    const rotated = await runCli(["rotate", "pat-cli-made"], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /^Rotated pat-cli-made: new version [0-9a-f]{32};/);
    assert.ok(!rotated.stdout.includes(before.version));
    assertOneLineFailure(
      await runCli(["import", "pat-cli-made", "--kind", "pat", "--create", "--expires", "2030-01-01"], env),
      /--create takes no --expires/,
      2,
    );
    assertOneLineFailure(
      await runCli(["rotate", "no-such-credential"], env),
      /\(404 credential_not_found\)$/m,
    );
  });

  test("rotate of a client secret Entra does not accept yet says it is pending, not rotated", async () => {
    // The dev stack's Graph and Entra emulators model propagation: a new secret works minutes later.
    const pending = await runCli(["rotate", "app-downstream-secret"], env);
    assert.equal(pending.code, 0, pending.stderr);
    assert.match(
      pending.stdout,
      /^Stored app-downstream-secret's new secret as version [0-9a-f]{32}, pending verification:/,
    );
    const shown = await runCli(["inventory", "show", "app-downstream-secret"], env);
    assert.match(shown.stdout, /^Status: +pending-verification$/m);
    assert.match(shown.stdout, /^Pending verification since: +\d{4}-\d{2}-\d{2}T/m);
  });

  test("without Secrets.Admin, import is a one-line 403 and exit 1", async () => {
    const r = await runCli(
      ["import", "pat-cli-ops", "--kind", "pat", "--expires", "2030-01-01", "--owner", "o@x"],
      { ...env, TOKEN_BROKER_TOKEN: ops },
      randomPat(),
    );
    assertOneLineFailure(r, /Secrets\.Admin.*\(403 insufficient_role\)$/m);
  });

  test("a garbage token is a one-line 401", async () => {
    const r = await runCli(["inventory", "list"], { ...env, TOKEN_BROKER_TOKEN: "not-a-jwt" });
    assertOneLineFailure(r, /\(401 invalid_token\)$/m);
  });

  test("without TOKEN_BROKER_TOKEN the token comes from DefaultAzureCredential (managed identity here)", async () => {
    const r = await runCli(["inventory", "list"], {
      TOKEN_BROKER_URL: stack.brokerUrl,
      IDENTITY_ENDPOINT: stack.managedIdentity.endpoint,
      IDENTITY_HEADER: stack.managedIdentity.header,
    });
    // The broker verified the managed identity's token; that identity has no inventory role.
    assertOneLineFailure(r, /\(403 insufficient_role\)$/m);
  });
});
