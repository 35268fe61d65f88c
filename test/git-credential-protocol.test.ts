import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough, Readable } from "node:stream";
import { describe, test } from "node:test";
import {
  MAX_INPUT_BYTES,
  MAX_LINE_BYTES,
  assertSafeDestination,
  formatAnswer,
  parseDescription,
  type CredentialDescription,
} from "../src/cli/git-credential-protocol.js";
import { parseArgs, runGitCredential } from "../src/cli/git-credential.js";
import { tokenAnswerWire } from "../src/wire/token-answer.js";

const parse = (text: string) => parseDescription(Buffer.from(text));
const PAT = "canaryPat0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123AZDO4567";
const EXPIRES = new Date("2026-12-02T20:00:00.000Z");
const EXPIRES_UTC = String(EXPIRES.getTime() / 1000);

describe("git credential protocol: reading git's description", () => {
  test("keeps protocol, host, path, username and the capabilities; drops the rest", () => {
    const d = parse(
      "capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=dev.azure.com\npath=contoso/p/_git/r\n" +
        "username=contoso\npassword=old\nwwwauth[]=Basic realm=x\n\n",
    );
    assert.deepEqual(d, {
      capabilities: ["authtype", "state"],
      protocol: "https",
      host: "dev.azure.com",
      path: "contoso/p/_git/r",
      username: "contoso",
    });
  });

  test("a blank line or the end ends it; an empty key[]= resets the list; CRLF is read as LF", () => {
    assert.deepEqual(parse("protocol=https\nhost=a\n\nprotocol=http\nnot a line\n"), {
      capabilities: [],
      protocol: "https",
      host: "a",
    });
    assert.deepEqual(parse("protocol=https\r\nhost=a"), { capabilities: [], protocol: "https", host: "a" });
    assert.deepEqual(parse("capability[]=authtype\ncapability[]=\nprotocol=https\n").capabilities, []);
    assert.deepEqual(parse("\nprotocol=https\n"), { capabilities: [] });
    assert.deepEqual(parse("host=\n"), { capabilities: [], host: "" });
  });

  test("refuses NUL, oversized input and lines, lines without =, odd keys and repeated keys", () => {
    const refused: [string | Buffer, RegExp][] = [
      ["protocol=https\0\nhost=a\n", /NUL/],
      [Buffer.alloc(MAX_INPUT_BYTES + 1, "a"), /input over/],
      [`path=${"p".repeat(MAX_LINE_BYTES)}\n`, /line 1 is too long/],
      ["protocol=https\nhost\n", /line 2 is not key=value/],
      ["=x\n", /line 1 is not key=value/],
      ["pro tocol=https\n", /unusual key/],
      ["host=a\nhost=b\n", /key host is repeated/],
    ];
    for (const [input, message] of refused) {
      assert.throws(() => parseDescription(Buffer.isBuffer(input) ? input : Buffer.from(input)), message);
    }
  });

  test("a refusal never quotes the value", () => {
    assert.throws(
      () => parse(`password=${PAT}\npassword=${PAT}\n`),
      (e: Error) => !e.message.includes(PAT),
    );
  });
});

describe("git credential protocol: where a credential may go", () => {
  const at = (protocol: string, host: string): CredentialDescription => ({
    capabilities: [],
    protocol,
    host,
  });

  test("https anywhere; plain http only to loopback", () => {
    for (const host of ["dev.azure.com", "contoso.visualstudio.com:443"])
      assertSafeDestination(at("https", host));
    for (const host of ["127.0.0.1:8080", "localhost", "[::1]:9000", "127.1.2.3"]) {
      assertSafeDestination(at("http", host));
    }
  });

  test("refuses plain http elsewhere, other protocols and a description without host", () => {
    const refused: [CredentialDescription, RegExp][] = [
      [
        at("http", "dev.azure.com"),
        /refusing to hand a credential for http:\/\/dev\.azure\.com: it would travel in clear/,
      ],
      [at("http", "127.0.0.1@evil.example"), /travel in clear/],
      [at("http", "127.0.0.1.evil.example"), /travel in clear/],
      [at("http", "localhost/x"), /travel in clear/],
      [at("ftp", "dev.azure.com"), /protocol=ftp \(https only\)/],
      [{ capabilities: [], protocol: "https" }, /no protocol and host/],
      [at("https", ""), /no protocol and host/],
      [{ capabilities: [], host: "dev.azure.com" }, /no protocol and host/],
    ];
    for (const [d, message] of refused) assert.throws(() => assertSafeDestination(d), message);
  });
});

describe("git credential protocol: the answer to get", () => {
  const https: CredentialDescription = { capabilities: [], protocol: "https", host: "dev.azure.com" };

  test("a PAT: a user name (git's, else ours) and the PAT as password, with its expiry", () => {
    assert.equal(
      formatAnswer(https, { token: PAT, tokenType: "Basic", expiresOn: EXPIRES }),
      `username=token-broker\npassword=${PAT}\npassword_expiry_utc=${EXPIRES_UTC}\n`,
    );
    assert.equal(
      formatAnswer(
        { ...https, username: "contoso", capabilities: ["authtype"] },
        { token: PAT, tokenType: "Basic", expiresOn: EXPIRES },
      ),
      `username=contoso\npassword=${PAT}\npassword_expiry_utc=${EXPIRES_UTC}\n`,
    );
  });

  test("an Entra token: Bearer when git announced authtype, else the password", () => {
    const token = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln";
    assert.equal(
      formatAnswer(
        { ...https, capabilities: ["authtype"] },
        { token, tokenType: "Bearer", expiresOn: EXPIRES },
      ),
      `capability[]=authtype\nauthtype=Bearer\ncredential=${token}\nephemeral=true\npassword_expiry_utc=${EXPIRES_UTC}\n`,
    );
    assert.equal(
      formatAnswer(
        { ...https, capabilities: ["state"] },
        { token, tokenType: "Bearer", expiresOn: new Date(EXPIRES.getTime() + 999) },
      ),
      `username=token-broker\npassword=${token}\npassword_expiry_utc=${EXPIRES_UTC}\n`,
    );
  });
});

describe("git credential helper, in process", () => {
  interface Ran {
    code: number;
    stdout: string;
    stderr: string;
  }
  async function helper(
    args: string[],
    stdin: string,
    env: NodeJS.ProcessEnv = {},
    extra = {},
  ): Promise<Ran> {
    let stdout = "";
    let stderr = "";
    const sink = (write: (s: string) => void) => {
      const s = new PassThrough();
      s.setEncoding("utf8").on("data", write);
      return s;
    };
    const code = await runGitCredential(args, {
      stdin: Readable.from([Buffer.from(stdin)]),
      stdout: sink((c) => (stdout += c)),
      stderr: sink((c) => (stderr += c)),
      env,
      ...extra,
    });
    await new Promise((resolve) => setImmediate(resolve));
    return { code, stdout, stderr };
  }

  /** A stand-in broker over real HTTP: answers in turn, records what it was asked. */
  async function fakeBroker(answers: { status: number; headers?: Record<string, string>; body: unknown }[]) {
    const seen: { path: string; authorization: string; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8").on("data", (c: string) => (body += c));
      req.on("end", () => {
        seen.push({ path: req.url ?? "", authorization: req.headers.authorization ?? "", body });
        const a = answers.shift() ?? { status: 500, body: {} };
        res
          .writeHead(a.status, { "content-type": "application/json", ...a.headers })
          .end(JSON.stringify(a.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      seen,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
  const okBody = {
    access_token: PAT,
    token_type: "Basic",
    expires_in: 3570,
    expires_on: EXPIRES.toISOString(),
    profile: "nuget-feed",
    authorization: `Basic ${Buffer.from(`:${PAT}`).toString("base64")}`,
  };
  const unavailable = (retryAfter: string) => ({
    status: 503,
    headers: { "retry-after": retryAfter, "content-type": "application/problem+json" },
    body: { status: 503, code: "upstream_unavailable", detail: "Key Vault is unavailable", title: "x" },
  });
  const GET = "protocol=https\nhost=dev.azure.com\n\n";

  test("store, erase and unknown operations read their input and do nothing", async () => {
    for (const action of ["store", "erase", "something-new"]) {
      const r = await helper(["--profile", "nuget-feed", action], `${GET.trim()}\npassword=${PAT}\n`);
      assert.deepEqual(r, { code: 0, stdout: "", stderr: "" }, action);
    }
  });

  test("get asks the broker with the caller token and answers in git's format", async () => {
    const broker = await fakeBroker([{ status: 200, body: okBody }]);
    try {
      const r = await helper(["--profile=nuget-feed", "--url", broker.url, "get"], GET, {
        TOKEN_BROKER_TOKEN: "caller-token",
      });
      assert.equal(r.stderr, "");
      assert.equal(r.stdout, `username=token-broker\npassword=${PAT}\npassword_expiry_utc=${EXPIRES_UTC}\n`);
      assert.deepEqual(broker.seen, [
        { path: "/api/token", authorization: "Bearer caller-token", body: '{"profile":"nuget-feed"}' },
      ]);
    } finally {
      await broker.close();
    }
  });

  test("a 503 with Retry-After up to 5 s is waited out once; longer or again fails", async () => {
    const broker = await fakeBroker([
      unavailable("2"),
      { status: 200, body: okBody },
      unavailable("30"),
      unavailable("1"),
      unavailable("1"),
    ]);
    const waits: number[] = [];
    const sleep = (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    };
    try {
      const env = { TOKEN_BROKER_TOKEN: "caller-token", TOKEN_BROKER_URL: broker.url };
      const ok = await helper(["--profile", "nuget-feed", "get"], GET, env, { sleep });
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(waits, [2000]);
      const long = await helper(["--profile", "nuget-feed", "get"], GET, env, { sleep });
      assert.equal(long.code, 1);
      assert.equal(
        long.stderr,
        "git-credential-token-broker: Key Vault is unavailable (503 upstream_unavailable)\n",
      );
      const twice = await helper(["--profile", "nuget-feed", "get"], GET, env, { sleep });
      assert.equal(twice.code, 1);
      assert.deepEqual(waits, [2000, 1000]);
      assert.equal(broker.seen.length, 5);
    } finally {
      await broker.close();
    }
  });

  test("a 429 (over the caller's rate limit) with Retry-After up to 5 s is waited out once too", async () => {
    const limited = (retryAfter: string) => ({
      status: 429,
      headers: { "retry-after": retryAfter, "content-type": "application/problem+json" },
      body: { status: 429, code: "rate_limited", detail: "Too many requests from this caller", title: "x" },
    });
    const broker = await fakeBroker([limited("1"), { status: 200, body: okBody }, limited("60")]);
    const waits: number[] = [];
    const sleep = (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    };
    try {
      const env = { TOKEN_BROKER_TOKEN: "caller-token", TOKEN_BROKER_URL: broker.url };
      const ok = await helper(["--profile", "nuget-feed", "get"], GET, env, { sleep });
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(waits, [1000]);
      const long = await helper(["--profile", "nuget-feed", "get"], GET, env, { sleep });
      assert.equal(long.code, 1);
      assert.equal(
        long.stderr,
        "git-credential-token-broker: Too many requests from this caller (429 rate_limited)\n",
      );
      assert.deepEqual(waits, [1000], "a long wait is not waited out");
    } finally {
      await broker.close();
    }
  });

  test("an answer that is not a token answer fails in one line without quoting it", async () => {
    const broker = await fakeBroker([{ status: 200, body: { ...okBody, token_type: PAT } }]);
    try {
      const r = await helper(["--profile", "nuget-feed", "get"], GET, {
        TOKEN_BROKER_TOKEN: "caller-token",
        TOKEN_BROKER_URL: broker.url,
      });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^git-credential-token-broker: unexpected answer from the broker: token_type: [^\n]+\n$/,
      );
      assert.ok(!r.stderr.includes(PAT));
      assert.equal(r.stdout, "");
    } finally {
      await broker.close();
    }
  });

  test("plain http to a non-loopback host is refused before the broker is asked", async () => {
    const broker = await fakeBroker([{ status: 200, body: okBody }]);
    try {
      const r = await helper(["--profile", "nuget-feed", "get"], "protocol=http\nhost=dev.azure.com\n\n", {
        TOKEN_BROKER_TOKEN: "caller-token",
        TOKEN_BROKER_URL: broker.url,
      });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^git-credential-token-broker: refusing to hand a credential for http:\/\/dev\.azure\.com: [^\n]+\n$/,
      );
      assert.equal(r.stdout, "");
      assert.equal(broker.seen.length, 0);
    } finally {
      await broker.close();
    }
  });

  test("malformed input and usage errors are one line, exit 1 and 2", async () => {
    const bad = await helper(["--profile", "nuget-feed", "get"], "protocol=https\nhost=a\nhost=b\n\n");
    assert.deepEqual(bad, {
      code: 1,
      stdout: "",
      stderr: "git-credential-token-broker: key host is repeated\n",
    });
    for (const [args, message] of [
      [["get"], /--profile is required/],
      [["--profile", "get"], /more than one operation|no operation/],
      [["--profile", "../x", "get"], /not a profile name/],
      [["--profile", "a", "--token", "x", "get"], /unknown option --token/],
      [["--profile", "a", "--profile", "b", "get"], /given twice/],
      [["--profile", "a"], /no operation/],
      [["--profile", "a", "--url", "http://broker.example.com", "get"], /refusing plain http/],
    ] as [string[], RegExp][]) {
      const r = await helper(args, GET);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, /^git-credential-token-broker: [^\n]+\n$/);
      assert.match(r.stderr, message);
    }
    assert.deepEqual(parseArgs(["--help"]), { help: true });
    const help = await helper(["--help"], "");
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: git-credential-token-broker --profile NAME/);
  });
});

test("the token answer schema takes the broker's answers and refuses a credential with a newline", () => {
  assert.equal(
    tokenAnswerWire.safeParse({ access_token: PAT, token_type: "Basic", expires_in: 1 }).success,
    false,
  );
  const ok = {
    access_token: PAT,
    token_type: "Bearer",
    expires_in: 10,
    expires_on: EXPIRES.toISOString(),
    profile: "ado-read",
    authorization: `Bearer ${PAT}`,
    future_field: 1,
  };
  assert.equal(tokenAnswerWire.parse(ok).future_field, 1);
  const injected = tokenAnswerWire.safeParse({ ...ok, access_token: `${PAT}\nusername=evil` });
  assert.equal(injected.success, false);
  assert.ok(!JSON.stringify(injected.error.issues).includes(PAT));
});
