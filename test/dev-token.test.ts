import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { expiredTokenMessage } from "../src/cli/expired-token.js";
import { devBanner } from "../src/local/dev-stack.js";
import { devStackState } from "../src/local/dev-state.js";
import { whoamiWire } from "../src/wire/whoami.js";
import { devClient, scratchDir, startTestStack, type TestStack } from "./support/dev-stack.js";
import { assertOneLineFailure, CLI, runCli } from "./support/cli-process.js";
import { startTestIssuer, type TestIssuer } from "./support/test-issuer.js";

const AUD = "api://token-broker-ci";

/** A pid no process has any more: a child that has exited. */
function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", () => resolve(child.pid ?? 0));
  });
}

/** A shell line run by sh, with the compiled CLI as `token-broker`. */
function sh(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)}`;
  return new Promise((resolve) => {
    execFile(
      "sh",
      ["-c", script.replaceAll("token-broker", cli)],
      { env: { PATH: process.env["PATH"] ?? "", ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

describe("dev login in one step: the banner's export line and token-broker dev-token", () => {
  let stack: TestStack;
  let issuer: TestIssuer;
  let stateFile: string;
  let env: Record<string, string>;
  let closed = false;

  before(async () => {
    issuer = await startTestIssuer();
    stateFile = path.join(scratchDir(), "dev", "stack.json");
    stack = await startTestStack(
      { BROKER_TRUSTED_ISSUERS: JSON.stringify([{ issuer: issuer.issuer, audiences: [AUD] }]) },
      { stateFile },
    );
    env = { TOKEN_BROKER_URL: stack.brokerUrl, TOKEN_BROKER_DEV_STATE: stateFile };
  });
  after(async () => {
    if (!closed) await stack.close();
    await issuer.close();
  });

  async function whoamiAs(token: string) {
    const res = await stack.api("/whoami", { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    return whoamiWire.parse(await res.json());
  }

  test("the banner's export line names the broker and a dev-admin token the broker accepts", async () => {
    const banner = await devBanner(stack);
    const line = /^ {2}export TOKEN_BROKER_URL=(\S+) TOKEN_BROKER_TOKEN=(\S+)$/m.exec(banner);
    assert.ok(line !== null, banner);
    assert.equal(line[1], stack.brokerUrl);
    const me = await whoamiAs(line[2] ?? "");
    assert.equal(me.clientId, devClient("dev-admin").clientId);
    assert.deepEqual(me.roles, ["Inventory.Read", "Policy.Read", "Secrets.Admin"]);
    assert.ok(!banner.includes("npx token-broker"));
    assert.match(banner, /eval "\$\(token-broker dev-token --as admin\)"/);
  });

  test("eval of dev-token signs the CLI in as the dev app asked for", async () => {
    for (const [as, name] of [
      ["admin", "dev-admin"],
      ["ops", "dev-ops"],
      ["caller", "dev-caller"],
    ] as const) {
      const r = await sh(`eval "$(token-broker dev-token --as ${as})" && token-broker whoami --json`, {
        TOKEN_BROKER_DEV_STATE: stateFile,
        TOKEN_BROKER_URL: stack.brokerUrl,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(whoamiWire.parse(JSON.parse(r.stdout)).clientId, devClient(name).clientId, as);
    }
  });

  test("--output value: the bare token; the state file holds the stack's broker and CA", async () => {
    const r = await runCli(["dev-token", "--as", "caller", "--output", "value"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    assert.equal((await whoamiAs(r.stdout.trim())).clientId, devClient("dev-caller").clientId);
    const state = devStackState(stack);
    assert.equal(state.brokerUrl, stack.brokerUrl);
    assert.equal(state.caFile, stack.caFile);
  });

  test("refused: a URL that is not loopback, a port with no dev stack, no state file, a stale one", async () => {
    assertOneLineFailure(
      await runCli(["dev-token"], { ...env, TOKEN_BROKER_URL: "https://broker.example.net" }),
      /dev-token works only against the dev stack on this machine, not broker\.example\.net/,
      2,
    );
    const port = new URL(stack.brokerUrl).port === "7071" ? "7072" : "7071";
    assertOneLineFailure(
      await runCli(["--url", `http://127.0.0.1:${port}`, "dev-token"], env),
      new RegExp(`no dev stack at http://127\\.0\\.0\\.1:${port}: the running one is at ${stack.brokerUrl}`),
    );
    const missing = path.join(scratchDir(), "none.json");
    assertOneLineFailure(
      await runCli(["dev-token"], { ...env, TOKEN_BROKER_DEV_STATE: missing }),
      /no dev stack is running \(no .*none\.json\); start one with npm start/,
    );
    const stale = path.join(scratchDir(), "stale.json");
    writeFileSync(stale, JSON.stringify({ ...devStackState(stack), pid: await deadPid() }));
    assertOneLineFailure(
      await runCli(["dev-token"], { ...env, TOKEN_BROKER_DEV_STATE: stale }),
      /no dev stack is running \(the one that wrote .*stale\.json is gone\)/,
    );
  });

  test("an expired token: the one-line error says how to get a new one", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await issuer.sign(
      issuer.claims(AUD, { iat: now - 7200, nbf: now - 7200, exp: now - 3600, roles: ["Secrets.Admin"] }),
    );
    const r = await runCli(["whoami"], { ...env, TOKEN_BROKER_TOKEN: expired });
    assertOneLineFailure(
      r,
      /the caller token expired at \S+Z \(401 invalid_token\): eval "\$\(token-broker dev-token --as admin\)" gets a new one/,
    );
    // A refused token that has not expired keeps the broker's own answer.
    const live = await issuer.sign(issuer.claims(AUD, { roles: ["Secrets.Admin"] }));
    const bad = await runCli(["whoami"], { ...env, TOKEN_BROKER_TOKEN: `${live.slice(0, -4)}AAAA` });
    assertOneLineFailure(bad, /\(401 invalid_token\)$/m);
    assert.doesNotMatch(bad.stderr, /expired/);
    // Not on loopback: az login or a fresh TOKEN_BROKER_TOKEN.
    assert.match(
      expiredTokenMessage(expired, new URL("https://broker.example.net/")) ?? "",
      /sign in again \(az login\) or set a fresh TOKEN_BROKER_TOKEN$/,
    );
    assert.equal(
      expiredTokenMessage(await issuer.sign(issuer.claims(AUD)), new URL(stack.brokerUrl)),
      undefined,
    );
  });

  test("the state file is removed when the dev stack closes", async () => {
    assert.ok(existsSync(stateFile));
    await stack.close();
    closed = true;
    assert.ok(!existsSync(stateFile));
  });
});
