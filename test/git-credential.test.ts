import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { decodeJwt } from "jose";
import { keyVaultClientOptions } from "../src/vault/key-vault-store.js";
import { startGitServer, type GitServer } from "./support/git-server.js";
import { callerToken, scratchDir, startTestStack, type TestStack } from "./support/dev-stack.js";

const DIST_CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/cli");
const HELPER = path.join(DIST_CLI, "git-credential-main.js");
const CLI = path.join(DIST_CLI, "main.js");

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a process to its end, with only the environment given (nothing of this machine's git or Azure login). */
function run(
  file: string,
  args: string[],
  options: { env: Record<string, string>; cwd?: string; stdin?: string },
): Promise<Ran> {
  const child = spawn(file, args, { env: options.env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  // A process that exits before reading its stdin (git commit) must not fail the test with EPIPE.
  child.stdin.on("error", () => undefined).end(options.stdin ?? "");
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Every process's argv, read from /proc over and over until `until` settles: what a credential
 * put on a command line would show to any user of the machine (`ps`).
 */
async function sampleArgv<T>(until: Promise<T>): Promise<{ result: T; argvs: Set<string>; samples: number }> {
  const argvs = new Set<string>();
  const state = { done: false };
  let samples = 0;
  void until.finally(() => (state.done = true));
  while (!state.done) {
    const pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
    await Promise.all(
      pids.map(async (pid) => {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
        if (cmdline !== "") argvs.add(cmdline.replaceAll("\0", " "));
      }),
    );
    samples++;
    // A breath between samples (not a timing assumption: sampling more or less often only changes how much it sees).
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return { result: await until, argvs, samples };
}

/** A port nothing listens on, held by a live connection of ours so no listener can take it meanwhile. */
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

describe("git credential helper with the real git against the dev stack", () => {
  let stack: TestStack;
  let git: GitServer;
  let caller: string;
  let pat: string;
  let bin: string;
  /** Every credential the tests see: none may show up in argv, stdout of failures, or stderr. */
  const canaries: string[] = [];

  before(async () => {
    stack = await startTestStack();
    const ca = readFileSync(stack.caFile, "utf8");
    const vault = new SecretClient(
      stack.keyVault.url,
      new ManagedIdentityCredential({ clientId: stack.identities.control.clientId }),
      keyVaultClientOptions({ extraCa: ca, maxRetries: 0 }),
    );
    pat = (await vault.getSecret("pat-contoso-nuget")).value ?? assert.fail("no sample PAT");
    git = await startGitServer(pat, {
      entra: { jwksUri: `${stack.entra.url}/common/discovery/keys`, issuer: stack.entra.issuerV1, ca },
    });
    caller = await callerToken(stack);
    const adoToken = (
      (await (await stack.token(caller, { profile: "ado-read" })).json()) as { access_token: string }
    ).access_token;
    canaries.push(pat, Buffer.from(`:${pat}`).toString("base64"), caller, adoToken);
    // git finds `git-credential-token-broker` on PATH: here, the compiled entry file itself
    // (tsc does not set the mode bit `npm run build` sets).
    chmodSync(HELPER, 0o755);
    bin = scratchDir("token-broker-bin-");
    symlinkSync(HELPER, path.join(bin, "git-credential-token-broker"));
  });

  after(async () => {
    await git.close();
    await stack.close();
  });

  /** A clean git environment: our config only, no prompt, no askpass; the helper's identity in env. */
  function gitEnv(profile: string, token = caller, url = stack.brokerUrl): Record<string, string> {
    const home = scratchDir("token-broker-home-");
    const config = path.join(home, "gitconfig");
    const origin = new URL(git.repoUrl).origin;
    writeFileSync(
      config,
      `[credential "${origin}"]\n\thelper = token-broker --profile ${profile}\n[user]\n\tname = t\n\temail = t@example.com\n`,
    );
    return {
      PATH: [bin, path.dirname(process.execPath), process.env["PATH"] ?? ""].join(path.delimiter),
      HOME: home,
      GIT_CONFIG_GLOBAL: config,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_TERMINAL_PROMPT: "0",
      TOKEN_BROKER_URL: url,
      TOKEN_BROKER_TOKEN: token,
    };
  }

  function assertNoCanary(texts: Iterable<string>, where: string): void {
    for (const text of texts) {
      for (const canary of canaries) assert.ok(!text.includes(canary), `a credential in ${where}`);
    }
  }

  async function cloneCommitPush(profile: string, message: string): Promise<void> {
    const env = gitEnv(profile);
    const dir = path.join(env["HOME"] ?? "", "clone");
    const clone = await sampleArgv(run("git", ["clone", "-q", git.repoUrl, dir], { env }));
    assert.equal(clone.result.code, 0, clone.result.stderr);
    // The sampler saw the clone running, so it could have seen a credential beside it.
    assert.ok(
      [...clone.argvs].some((a) => a.startsWith("git clone")),
      `${clone.samples} samples`,
    );
    assertNoCanary(clone.argvs, "a process's argv during clone");
    const commit = await run("git", ["-C", dir, "commit", "-q", "--allow-empty", "-m", message], { env });
    assert.equal(commit.code, 0, commit.stderr);
    const push = await sampleArgv(run("git", ["-C", dir, "push", "-q", "origin", "main"], { env }));
    assert.equal(push.result.code, 0, push.result.stderr);
    assertNoCanary(push.argvs, "a process's argv during push");
    assertNoCanary(
      [clone.result.stdout, clone.result.stderr, push.result.stdout, push.result.stderr],
      "git's output",
    );
    const head = await run("git", ["--git-dir", git.repoDir, "log", "-1", "--format=%s", "main"], { env });
    assert.equal(head.stdout.trim(), message);
  }

  test("clone and push with a PAT profile: git asks the helper, the server takes the PAT", async () => {
    const before = git.accepted.basicPat;
    await cloneCommitPush("nuget-feed", "pushed with the PAT");
    // Clone and push each needed it (info/refs, then the pack).
    assert.ok(git.accepted.basicPat >= before + 2, JSON.stringify(git.accepted));
  });

  test("clone and push with an Entra profile: the access token as the Basic password", async () => {
    const before = git.accepted.basicToken;
    await cloneCommitPush("ado-read", "pushed with the Entra token");
    assert.ok(git.accepted.basicToken >= before + 2, JSON.stringify(git.accepted));
  });

  test("without a helper the server refuses git (the tests above could fail)", async () => {
    const env = gitEnv("nuget-feed");
    env["GIT_CONFIG_GLOBAL"] = path.join(env["HOME"] ?? "", "none");
    const r = await run("git", ["ls-remote", git.repoUrl], { env });
    assert.notEqual(r.code, 0);
  });

  test("git announcing capability[]=authtype gets authtype=Bearer and credential (driven directly)", async () => {
    const origin = new URL(git.repoUrl);
    const env = gitEnv("ado-read");
    const r = await run(process.execPath, [HELPER, "--profile", "ado-read", "get"], {
      env,
      stdin: `capability[]=authtype\nprotocol=http\nhost=${origin.host}\npath=repo.git\n\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const lines = r.stdout.split("\n");
    assert.equal(lines[0], "capability[]=authtype");
    const attrs = new Map(
      lines.filter((l) => l !== "").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    assert.equal(attrs.get("authtype"), "Bearer");
    assert.equal(attrs.get("password"), undefined);
    const token = attrs.get("credential") ?? assert.fail("no credential");
    assert.equal(attrs.get("password_expiry_utc"), String(decodeJwt(token).exp));
    // What git would send: `authtype credential`. The server, as Azure DevOps, takes it.
    const before = git.accepted.bearerToken;
    const res = await fetch(`${git.repoUrl}/info/refs?service=git-upload-pack`, {
      headers: { authorization: `${attrs.get("authtype") ?? ""} ${token}` },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(git.accepted.bearerToken, before + 1);
    const refused = await fetch(`${git.repoUrl}/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` },
    });
    assert.equal(refused.status, 401, "the server verifies the token's signature");
  });

  test("a PAT stays a user name and password even when git could take authtype", async () => {
    const origin = new URL(git.repoUrl);
    const r = await run(process.execPath, [HELPER, "--profile", "nuget-feed", "get"], {
      env: gitEnv("nuget-feed"),
      stdin: `capability[]=authtype\nprotocol=http\nhost=${origin.host}\nusername=contoso\n\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^username=contoso\npassword=${pat}\npassword_expiry_utc=\\d+\n$`));
  });

  test("an ungranted profile: git fails, the helper names profile_not_granted, no credential shown", async () => {
    const ops = await callerToken(stack, "dev-ops");
    canaries.push(ops);
    const env = gitEnv("nuget-feed", ops);
    const dir = path.join(env["HOME"] ?? "", "clone");
    const r = await run("git", ["clone", "-q", git.repoUrl, dir], { env });
    assert.notEqual(r.code, 0);
    const ours = r.stderr.split("\n").filter((l) => l.startsWith("git-credential-token-broker: "));
    assert.equal(ours.length, 1, r.stderr);
    assert.match(ours[0] ?? "", /not granted.*\(403 profile_not_granted\)/);
    assertNoCanary([r.stdout, r.stderr], "git's output");
  });

  test("a stopped broker: git fails, the helper says in one line it cannot reach the broker", async () => {
    const { port, release } = await closedPort();
    try {
      const env = gitEnv("nuget-feed", caller, `http://127.0.0.1:${port}`);
      const r = await run("git", ["clone", "-q", git.repoUrl, path.join(env["HOME"] ?? "", "c")], { env });
      assert.notEqual(r.code, 0);
      const ours = r.stderr.split("\n").filter((l) => l.startsWith("git-credential-token-broker: "));
      assert.deepEqual(ours, [
        `git-credential-token-broker: cannot reach the broker at http://127.0.0.1:${port} (ECONNREFUSED)`,
      ]);
      assertNoCanary([r.stdout, r.stderr], "git's output");
      // Alone, the helper prints exactly that line and nothing on stdout.
      const direct = await run(process.execPath, [HELPER, "--profile", "nuget-feed", "get"], {
        env,
        stdin: "protocol=https\nhost=dev.azure.com\n\n",
      });
      assert.equal(direct.code, 1);
      assert.equal(direct.stdout, "");
      assert.match(direct.stderr, /^git-credential-token-broker: cannot reach the broker [^\n]+\n$/);
    } finally {
      release();
    }
  });

  test("token-broker token: json, header and value, for scripts", async () => {
    const env = {
      PATH: process.env["PATH"] ?? "",
      TOKEN_BROKER_URL: stack.brokerUrl,
      TOKEN_BROKER_TOKEN: caller,
    };
    const json = await run(process.execPath, [CLI, "token", "nuget-feed"], { env });
    assert.equal(json.code, 0, json.stderr);
    const answer = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(answer["access_token"], pat);
    assert.equal(answer["token_type"], "Basic");
    assert.equal(answer["profile"], "nuget-feed");
    assert.equal(typeof answer["expires_in"], "number");
    const header = await run(process.execPath, [CLI, "token", "nuget-feed", "--output", "header"], { env });
    assert.equal(header.stdout, `Basic ${Buffer.from(`:${pat}`).toString("base64")}\n`);
    const value = await run(process.execPath, [CLI, "token", "nuget-feed", "-o", "value"], { env });
    assert.equal(value.stdout, `${pat}\n`);
    const entra = await run(process.execPath, [CLI, "token", "ado-read", "-o", "header"], { env });
    assert.match(entra.stdout, /^Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  test("token-broker token: usage and broker failures are one line, without a credential", async () => {
    const env = {
      PATH: process.env["PATH"] ?? "",
      TOKEN_BROKER_URL: stack.brokerUrl,
      TOKEN_BROKER_TOKEN: caller,
    };
    const bad = await run(process.execPath, [CLI, "token", "nuget-feed", "-o", "yaml"], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^token-broker: [^\n]*yaml[^\n]*\n$/);
    const ops = await callerToken(stack, "dev-ops");
    const denied = await run(process.execPath, [CLI, "token", "nuget-feed"], {
      env: { ...env, TOKEN_BROKER_TOKEN: ops },
    });
    assert.equal(denied.code, 1);
    assert.equal(denied.stdout, "");
    assert.match(denied.stderr, /^token-broker: [^\n]*\(403 profile_not_granted\)\n$/);
    assertNoCanary([denied.stderr, bad.stderr], "the CLI's stderr");
  });
});
