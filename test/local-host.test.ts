import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { registrations, type Registrations } from "../src/functions/registrations.js";
import { DEV_POLICY_FILE, startDevStack } from "../src/local/dev-stack.js";
import { createLogger } from "../src/log.js";
import { compileRoute } from "../src/local/host.js";
import { method, type RouteInput } from "../src/http/route.js";
import { noQuery } from "../src/http/schemas.js";
import { callerToken, scratchDir, startTestStack } from "./support/dev-stack.js";
import { ManualClock } from "./support/manual-clock.js";

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/local/main.js");

describe("local host", () => {
  test("route templates match like the Functions host's", () => {
    const r = compileRoute("api", { name: "x", route: "inventory/{name}/versions", methods: {} });
    const m = r.pattern.exec("/api/inventory/pat-a/versions");
    assert.equal(m?.[1], "pat-a");
    assert.equal(r.pattern.test("/api/inventory/pat-a/versions/extra"), false);
    assert.equal(r.pattern.test("/inventory/pat-a/versions"), false);
    assert.equal(
      compileRoute("api", { name: "t", route: "token", methods: {} }).pattern.test("/api/token/"),
      true,
    );
  });

  test("a route parameter that is not valid percent-encoding is 400, not 500", async () => {
    const echo = (req: RouteInput) =>
      Promise.resolve({ status: 200, headers: {}, body: req.params["name"] ?? "" });
    const GET = method({
      summary: "echo",
      access: "public",
      query: noQuery,
      handler: () => Promise.resolve(echo),
    });
    const stack = await startTestStackWith({
      http: [{ name: "echo", route: "echo/{name}", methods: { GET } }],
      timers: [],
    });
    try {
      const good = await fetch(`${stack.brokerUrl}/api/echo/a%20b`);
      assert.equal(await good.text(), "a b");
      const bad = await fetch(`${stack.brokerUrl}/api/echo/%E0%A4%A`);
      assert.equal(bad.status, 400);
      assert.equal(bad.headers.get("content-type"), "application/problem+json");
    } finally {
      await stack.close();
    }
  });

  test("runs timer triggers on their NCRONTAB schedule", async () => {
    let runs = 0;
    const clock = new ManualClock(Date.now());
    const stack = await startTestStackWith(
      {
        http: registrations.http,
        timers: [
          {
            name: "every-second",
            schedule: () => "*/1 * * * * *",
            handler: () => {
              runs += 1;
              return Promise.resolve();
            },
          },
        ],
      },
      clock,
    );
    try {
      assert.equal(runs, 0);
      await clock.advance(2000);
      assert.equal(runs, 2);
      assert.ok(stack.logs.some((l) => l.includes('"event":"timer.finished"') && l.includes("every-second")));
    } finally {
      await stack.close();
    }
    assert.equal(clock.pending, 0, "close() stops the timers");
    await clock.advance(5000);
    assert.equal(runs, 2, "close() stops the timers");
  });
});

async function startTestStackWith(regs: Registrations, timerClock?: ManualClock) {
  const logs: string[] = [];
  const stack = await startDevStack({
    env: { PORT: "0" },
    log: createLogger((l) => logs.push(l)),
    registrations: regs,
    ...(timerClock !== undefined ? { timerClock } : {}),
  });
  return Object.assign(stack, { logs });
}

interface Started {
  lines: string[];
  stderr: string[];
  ready: Record<string, string>;
  exit: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

function startMain(env: Record<string, string>, readyEvent = "dev.ready"): Promise<Started> {
  const child = spawn(process.execPath, [MAIN], {
    // The dev stack's state file in a scratch place, never the machine's well-known one.
    env: {
      PATH: process.env["PATH"] ?? "",
      PORT: "0",
      TOKEN_BROKER_DEV_STATE: path.join(scratchDir(), "stack.json"),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffer = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (line.includes(`"event":"${readyEvent}"`)) {
          resolve({
            lines,
            stderr,
            ready: JSON.parse(line) as Record<string, string>,
            exit,
            kill: (s) => child.kill(s),
          });
        }
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
    void exit.then((code) => reject(new Error(`exited ${code} before ready: ${stderr.join("")}`)));
    setTimeout(() => reject(new Error("not ready within 20 s")), 20_000).unref();
  });
}

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.on("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

describe("npm start (the dev stack as a process)", () => {
  test("the start script runs the very entry these tests start", () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
    const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const target = /\bnode (\S+\.js)\b/.exec(pkg.scripts["start"] ?? "")?.[1];
    assert.equal(target !== undefined ? path.resolve(root, target) : undefined, MAIN);
  });

  test("starts, prints the banner, serves a caller end to end, and Ctrl-C stops all of it", async () => {
    const stateFile = path.join(scratchDir(), "dev", "stack.json");
    const started = await startMain({ TOKEN_BROKER_DEV_STATE: stateFile });
    const { ready } = started;
    const broker = ready["broker"] ?? "";
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as { brokerUrl: string; caFile: string };
    assert.deepEqual([state.brokerUrl, state.caFile], [broker, ready["caFile"]], "the state for dev-token");
    const banner = started.lines.join("\n");
    assert.match(banner, /Get a caller token/);
    assert.ok(banner.includes(`${broker}/api/token`));
    assert.ok(existsSync(ready["caFile"] ?? ""));

    const stackLike = {
      config: { tenantId: "a1b2c3d4-0000-4000-8000-000000000001" },
      entra: { url: ready["entra"] ?? "" },
      caFile: ready["caFile"] ?? "",
    } as Parameters<typeof callerToken>[0];
    const token = await callerToken(stackLike);
    const res = await fetch(`${broker}/api/token`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ profile: "nuget-feed" }),
    });
    assert.equal(res.status, 200);
    const pat = ((await res.json()) as { access_token: string }).access_token;

    started.kill("SIGINT");
    assert.equal(await started.exit, 0);
    for (const url of [
      broker,
      ready["entra"] ?? "",
      ready["keyVault"] ?? "",
      ready["identityEndpoint"] ?? "",
    ]) {
      assert.equal(await portOpen(url), false, `${url} still open`);
    }
    assert.equal(existsSync(ready["caFile"] ?? ""), false, "the CA file is removed");
    assert.equal(existsSync(stateFile), false, "the state file is removed");
    const everything = started.lines.join("\n") + started.stderr.join("");
    assert.ok(!everything.includes(pat), "the PAT is not in the output");
    assert.ok(!everything.includes(token), "the caller token is not in the output");
  });

  test("with KEY_VAULT_URL set it is the plain local host for Azure, no emulators", async () => {
    const started = await startMain(
      {
        KEY_VAULT_URL: "https://kv-does-not-exist.vault.azure.net",
        BROKER_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        BROKER_AUDIENCE: "api://token-broker",
        BROKER_POLICY_FILE: DEV_POLICY_FILE,
        // dev.json mints with the minting identity; the control identity is the system-assigned one here.
        BROKER_MINTING_CLIENT_ID: "a1b2c3d4-0000-4000-8000-0000000000e3",
      },
      "host.ready",
    );
    const broker = started.ready["broker"] ?? "";
    assert.equal((await fetch(`${broker}/api/health`)).status, 200);
    const anonymous = await fetch(`${broker}/api/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"profile":"ado-read"}',
    });
    assert.equal(anonymous.status, 401);
    assert.ok(!started.lines.join("\n").includes("dev stack is running"), "no dev banner");
    started.kill("SIGTERM");
    assert.equal(await started.exit, 0);
    assert.equal(await portOpen(broker), false);
  });

  test("a bad setting stops the start, naming it and not its value", async () => {
    await assert.rejects(
      startMain({ BROKER_TRUSTED_ISSUERS: "canary-value-9d2 not json" }),
      (error: Error) =>
        /BROKER_TRUSTED_ISSUERS: is not valid JSON/.test(error.message) &&
        !error.message.includes("canary-value-9d2"),
    );
  });

  test("the dev stack honours a test's own settings on top of its defaults", async () => {
    const stack = await startTestStack({ BROKER_AUDIENCE: "api://other-audience" });
    try {
      const res = await stack.token(await callerToken(stack), { profile: "ado-read" });
      assert.equal(res.status, 401, "the dev token's audience is no longer accepted");
    } finally {
      await stack.close();
    }
  });
});
