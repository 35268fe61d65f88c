import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import type { Item } from "../src/cli/broker-client.js";
import { run, type CliIo } from "../src/cli/commands.js";
import { UsageError } from "../src/cli/errors.js";
import { confirm, readSecretValue } from "../src/cli/secret-input.js";
import { inventoryTable, painter, sanitize, wantsColor } from "../src/cli/table.js";

const ESC = "\u001b[";

function item(overrides: Partial<Item> = {}): Item {
  return {
    name: "pat-a",
    kind: "pat",
    owner: "team@contoso.com",
    organization: "contoso",
    scopes: ["vso.code"],
    expiresOn: "2026-12-24T00:00:00.000Z",
    daysLeft: 30,
    status: "active",
    rotation: "manual",
    rotatedOn: null,
    version: "v1",
    enabled: true,
    createdOn: "2026-01-01T00:00:00.000Z",
    updatedOn: "2026-01-01T00:00:00.000Z",
    warnings: [],
    ...overrides,
  };
}

/** The CLI in-process, with captured output and a piped (non-TTY) stdin. */
async function cli(argv: string[], env: NodeJS.ProcessEnv = {}, stdinText = "") {
  const stdin = new PassThrough();
  stdin.end(stdinText);
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdin,
    stdout: new PassThrough().on("data", (c: Buffer) => (stdout += c.toString())),
    stderr: new PassThrough().on("data", (c: Buffer) => (stderr += c.toString())),
    env,
  };
  const code = await run(argv, io);
  await new Promise((resolve) => setImmediate(resolve));
  // Whatever the CLI did not consume is still buffered in the stream.
  const unread = (stdin.read() as Buffer | null)?.toString() ?? "";
  return { code, stdout, stderr, unread };
}

/** A stand-in broker on loopback speaking plain HTTP, answering from a route table. */
async function fakeBroker(
  answer: (url: URL, req: http.IncomingMessage) => { status: number; type: string; body: string },
) {
  const seen: URL[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    seen.push(url);
    const a = answer(url, req);
    res.writeHead(a.status, { "content-type": a.type }).end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const query = (i: number, key: string) => seen.at(i)?.searchParams.get(key);
  return { url, seen, query, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("cli: colours and tables", () => {
  test("colour only on a TTY without NO_COLOR; FORCE_COLOR wins", () => {
    assert.equal(wantsColor({ isTTY: true }, {}), true);
    assert.equal(wantsColor({ isTTY: false }, {}), false);
    assert.equal(wantsColor({}, {}), false);
    assert.equal(wantsColor({ isTTY: true }, { NO_COLOR: "1" }), false);
    assert.equal(wantsColor({ isTTY: true }, { NO_COLOR: "" }), true, "an empty NO_COLOR is unset");
    assert.equal(wantsColor({ isTTY: true }, { TERM: "dumb" }), false);
    assert.equal(wantsColor({ isTTY: false }, { FORCE_COLOR: "1" }), true);
    assert.equal(wantsColor({ isTTY: true }, { FORCE_COLOR: "0" }), false);
    assert.equal(wantsColor({ isTTY: false }, { FORCE_COLOR: "1", NO_COLOR: "1" }), true);
  });

  test("the table aligns on visible text, colours the status only", () => {
    const items = [
      item(),
      item({
        name: "app-secret-long-name",
        kind: "client-secret",
        status: "expired",
        daysLeft: -3,
        owner: null,
      }),
      item({ name: "b", status: "expiring", daysLeft: 5, expiresOn: null, rotation: "auto" }),
    ];
    const plain = inventoryTable(items, painter(false));
    assert.ok(!plain.includes(ESC));
    const lines = plain.trimEnd().split("\n");
    assert.match(lines[0] ?? "", /^NAME\s+KIND\s+OWNER\s+STATUS\s+DAYS LEFT\s+EXPIRES\s+ROTATION$/);
    assert.match(
      lines[2] ?? "",
      /^app-secret-long-name {2}client-secret {2}- +expired +-3 {2}2026-12-24 {2}manual$/,
    );
    // Columns start at the same offset on every line.
    const statusAt = (lines[0] ?? "").indexOf("STATUS");
    for (const line of lines.slice(1)) assert.match(line.slice(statusAt), /^(active|expired|expiring)/);
    assert.match(lines[3] ?? "", / {4}5 {2}- +auto$/);

    const coloured = inventoryTable(items, painter(true));
    assert.ok(coloured.includes(`${ESC}32mactive`), "active is green");
    assert.ok(coloured.includes(`${ESC}31mexpired`), "expired is red");
    assert.ok(coloured.includes(`${ESC}33mexpiring`), "expiring is yellow");
    // Stripped of escapes, the coloured table is the plain one.
    // eslint-disable-next-line no-control-regex
    assert.equal(coloured.replace(/\u001b\[\d+m/g, ""), plain);
  });

  test("control characters from the server cannot reach the terminal", () => {
    assert.equal(sanitize("a\u001b[2Jb\nc"), "a?[2Jb?c");
  });
});

describe("cli: the secret value", () => {
  test("piped stdin: one trailing newline dropped, empty or multi-line refused", async () => {
    const from = (text: string) => {
      const s = new PassThrough();
      s.end(text);
      return readSecretValue(s, new PassThrough(), "Value: ");
    };
    assert.equal(await from("abc\n"), "abc");
    assert.equal(await from("abc\r\n"), "abc");
    assert.equal(await from("abc"), "abc");
    await assert.rejects(from(""), UsageError);
    await assert.rejects(from("\n"), UsageError);
    await assert.rejects(from("a\nb\n"), UsageError);
  });

  test("on a terminal it prompts on stderr and never echoes what is typed", async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
    let prompted = "";
    const prompt = new PassThrough().on("data", (c: Buffer) => (prompted += c.toString()));
    const value = readSecretValue(input, prompt, "Value for x (input hidden): ");
    input.write("s3cret-typed\r");
    assert.equal(await value, "s3cret-typed");
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(prompted, "Value for x (input hidden): \n");
  });
});

describe("cli: confirmation", () => {
  test("only y or yes confirms; end of input is no", async () => {
    const ask = (typed: string | null) => {
      const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
      const answer = confirm(input, new PassThrough(), "Revoke x?");
      if (typed === null) input.end();
      else input.write(typed);
      return answer;
    };
    assert.equal(await ask("y\r"), true);
    assert.equal(await ask("YES\r"), true);
    assert.equal(await ask("n\r"), false);
    assert.equal(await ask("\r"), false);
    assert.equal(await ask(null), false);
  });
});

describe("cli: arguments", () => {
  test("--help shows examples; no command is a usage error", async () => {
    const help = await cli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Examples:\n {2}\$ token-broker inventory list/);
    for (const sub of [["inventory", "list"], ["inventory", "show"], ["import"], ["revoke"]]) {
      const r = await cli([...sub, "--help"]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Examples:/, sub.join(" "));
    }
    assert.equal((await cli([])).code, 2);
  });

  test("--value is refused with the reason, before stdin is read", async () => {
    const r = await cli(
      ["import", "pat-a", "--kind", "pat", "--expires", "2026-12-24", "--owner", "o", "--value=canary-77"],
      {},
      "piped",
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^token-broker: --value is refused: .*shell history.*\n$/);
    assert.ok(!r.stderr.includes("canary-77"));
    assert.equal(r.unread, "piped", "stdin was not read");
  });

  test("usage errors are one line and exit 2", async () => {
    for (const argv of [
      ["inventory", "list", "--status", "bogus"],
      ["inventory", "list", "--top", "0"],
      ["inventory", "list", "--top", "5", "--csv"],
      ["inventory", "list", "--json", "--csv"],
      ["inventory", "list", "--expiring-within", "-1"],
      ["inventory", "show", "bad/name"],
      ["import", "x", "--kind", "pat", "--expires", "tomorrow", "--owner", "o"],
      ["import", "x", "--kind", "pat", "--expires", "2026-12-24T10:00", "--owner", "o"],
      ["import", "x", "--kind", "pat", "--owner", "o"],
      ["revoke", "x"],
      ["--url", "http://broker.example.net", "inventory", "list"],
      ["--url", "https://user:pw@broker.example.net", "inventory", "list"],
    ]) {
      const r = await cli(argv);
      assert.equal(r.code, 2, argv.join(" "));
      assert.match(r.stderr, /^token-broker: [^\n]+\n$/, argv.join(" "));
      assert.equal(r.stdout, "");
    }
    const clear = await cli(["--url", "http://broker.example.net", "inventory", "list"]);
    assert.match(clear.stderr, /in clear/);
    assert.ok(
      !(await cli(["--url", "https://user:pw@broker.example.net", "inventory", "list"])).stderr.includes(
        "pw",
      ),
    );
  });
});

describe("cli: talking to a broker", () => {
  test("follows continuation across pages; --top asks for one page", async () => {
    const broker = await fakeBroker((url) => {
      const c = url.searchParams.get("continuation");
      const page =
        c === null
          ? { items: [item({ name: "one" })], continuation: "next-1" }
          : { items: [item({ name: "two", extra: "tolerated" })], continuation: null };
      return { status: 200, type: "application/json", body: JSON.stringify(page) };
    });
    try {
      const env = { TOKEN_BROKER_URL: broker.url, TOKEN_BROKER_TOKEN: "t0ken" };
      const all = await cli(["inventory", "list", "--kind", "pat", "--expiring-within", "7", "--json"], env);
      assert.equal(all.code, 0, all.stderr);
      const parsed = JSON.parse(all.stdout) as { items: Item[]; continuation: null };
      assert.deepEqual(
        parsed.items.map((i) => i.name),
        ["one", "two"],
      );
      assert.equal(parsed.continuation, null);
      assert.equal(broker.seen.at(0)?.pathname, "/api/inventory");
      assert.equal(broker.query(0, "kind"), "pat");
      assert.equal(broker.query(0, "expiringWithinDays"), "7");
      assert.equal(broker.query(1, "continuation"), "next-1");
      assert.equal(broker.query(1, "kind"), "pat", "filters kept on every page");

      const one = await cli(["inventory", "list", "--top", "1"], env);
      assert.equal(one.code, 0);
      assert.match(one.stdout, /^NAME.*\none /);
      assert.ok(!one.stdout.includes("two"));
      assert.match(one.stderr, /more credentials/);
      assert.equal(broker.query(2, "top"), "1");
    } finally {
      await broker.close();
    }
  });

  test("--csv passes the broker's CSV through byte for byte", async () => {
    const csv = 'name,kind,owner\r\npat-a,pat,"team, build"\r\n';
    const broker = await fakeBroker(() => ({ status: 200, type: "text/csv; charset=utf-8", body: csv }));
    try {
      const r = await cli(["inventory", "list", "--csv", "--status", "expiring"], {
        TOKEN_BROKER_URL: broker.url,
        TOKEN_BROKER_TOKEN: "t",
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, csv);
      assert.equal(broker.query(0, "format"), "csv");
      assert.equal(broker.query(0, "status"), "expiring");
    } finally {
      await broker.close();
    }
  });

  test("a problem answer is one line with status and code; a malformed answer is named", async () => {
    const broker = await fakeBroker((url) =>
      url.pathname.endsWith("/bad")
        ? { status: 200, type: "application/json", body: JSON.stringify({ ...item(), status: "weird" }) }
        : {
            status: 400,
            type: "application/problem+json",
            body: JSON.stringify({
              type: "urn:x",
              title: "Bad Request",
              status: 400,
              detail: "The query is invalid.\nSecond line.",
              code: "invalid_request",
              errors: [{ field: "top", message: "Too big" }],
            }),
          },
    );
    try {
      const env = { TOKEN_BROKER_URL: broker.url, TOKEN_BROKER_TOKEN: "t" };
      const r = await cli(["inventory", "show", "x"], env);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        "token-broker: The query is invalid. Second line: --top Too big (400 invalid_request)\n",
      );
      const bad = await cli(["inventory", "show", "bad"], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^token-broker: unexpected answer from the broker: status: .*\n$/);
    } finally {
      await broker.close();
    }
  });
});

describe("cli: sweeps and revoke --skip-upstream against a stand-in broker", () => {
  const problem = (status: number, code: string) => ({
    status,
    type: "application/problem+json",
    body: JSON.stringify({ status, code, detail: "Another sweep holds the lease." }),
  });

  test("a 409 sweep_in_progress says another sweep is running", async () => {
    const methods: string[] = [];
    const broker = await fakeBroker((_url, req) => {
      methods.push(req.method ?? "");
      return problem(409, "sweep_in_progress");
    });
    try {
      const env = { TOKEN_BROKER_URL: broker.url, TOKEN_BROKER_TOKEN: "t" };
      const rotation = await cli(["sweep", "rotation"], env);
      assert.equal(rotation.code, 1);
      assert.match(
        rotation.stderr,
        /^token-broker: another rotation sweep is running \(409 sweep_in_progress\)/,
      );
      const notices = await cli(["sweep", "notices", "--json"], env);
      assert.match(notices.stderr, /^token-broker: another notice sweep is running/);
      assert.deepEqual(
        broker.seen.map((u) => u.pathname),
        ["/api/sweeps/rotation", "/api/sweeps/notices"],
      );
      assert.deepEqual(methods, ["POST", "POST"]);
    } finally {
      await broker.close();
    }
  });

  test("revoke --skip-upstream asks saying it will NOT be revoked, and sends upstream=skip", async () => {
    const broker = await fakeBroker(() => ({
      status: 200,
      type: "application/json",
      body: JSON.stringify({ name: "x", deleted: true, upstreamRevocation: "skipped", recoverableDays: 7 }),
    }));
    const ask = async (typed: string) => {
      const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
      let stderr = "";
      let stdout = "";
      const io: CliIo = {
        stdin: input,
        stdout: new PassThrough().on("data", (c: Buffer) => (stdout += c.toString())),
        stderr: new PassThrough().on("data", (c: Buffer) => (stderr += c.toString())),
        env: { TOKEN_BROKER_URL: broker.url, TOKEN_BROKER_TOKEN: "t" },
      };
      const running = run(["revoke", "x", "--skip-upstream"], io);
      input.write(typed);
      const code = await running;
      await new Promise((resolve) => setImmediate(resolve));
      return { code, stderr, stdout };
    };
    try {
      const no = await ask("n\r");
      assert.equal(no.code, 1);
      assert.match(no.stderr, /Delete x WITHOUT revoking it upstream\? It will NOT be revoked/);
      assert.match(no.stderr, /token-broker: cancelled, nothing revoked\n$/);
      assert.equal(broker.seen.length, 0, "nothing was sent");
      const yes = await ask("y\r");
      assert.equal(yes.code, 0, yes.stderr);
      assert.equal(broker.query(0, "upstream"), "skip");
      assert.match(yes.stdout, /^Deleted x without revoking it upstream \(--skip-upstream\)/);
    } finally {
      await broker.close();
    }
  });
});
