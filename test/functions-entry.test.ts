import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import functions from "@azure/functions";
import { routeProblem } from "../src/functions/host-rules.js";
import { registrations } from "../src/functions/registrations.js";
import { HTTP_METHODS } from "../src/http/types.js";
import { createLogger, withInvocationLog } from "../src/log.js";
import { callerToken, scratchDir, startTestStack, type TestStack } from "./support/dev-stack.js";
import {
  MAIN,
  ROOT,
  startStandInWorker,
  triggerOf,
  type Invocation,
  type StandInWorker,
} from "./support/functions-worker.js";
import type { RpcLogEntry } from "./support/worker-rpc.js";

/**
 * package.json `main` run the way the Azure Functions Node.js worker runs it: `@azure/functions-core`
 * provided by the worker stand-in, registrations read from `registerFunction`, invocations driven
 * through the real `@azure/functions` invocation model (RPC http data in, RPC http response out).
 */

const STATIC_ENV = {
  KEY_VAULT_URL: "https://kv-test.vault.azure.net",
  BROKER_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
  BROKER_AUDIENCE: "api://token-broker",
  BROKER_POLICY_FILE: path.join(ROOT, "policy", "dev.json"),
  // dev.json mints with the minting identity; the control identity is the system-assigned one here.
  BROKER_MINTING_CLIENT_ID: "a1b2c3d4-0000-4000-8000-0000000000e3",
};

/** The settings a Function App would have for the dev stack's emulators (the CA through NODE_EXTRA_CA_CERTS). */
function appSettingsOf(stack: TestStack, extra: Record<string, string> = {}): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [k, v] of Object.entries(stack.appSettings)) if (v !== undefined) settings[k] = v;
  return {
    ...settings,
    IDENTITY_ENDPOINT: stack.managedIdentity.endpoint,
    IDENTITY_HEADER: stack.managedIdentity.header,
    NODE_EXTRA_CA_CERTS: stack.caFile,
    ...extra,
  };
}

function events(lines: readonly string[]): { event: string; level: string; [k: string]: unknown }[] {
  return lines.map((l) => JSON.parse(l) as { event: string; level: string });
}

function stdoutLines(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l.trim() !== "");
}

/** Our lines of one invocation: category `user`, tied to its invocation id, before its answer. */
function userLines(invocation: Invocation): RpcLogEntry[] {
  for (const log of invocation.logs) {
    assert.equal(log.category, "user", log.message);
    assert.equal(log.invocationId, invocation.invocationId);
    assert.equal(log.afterResponse, false, `written after the answer: ${log.message}`);
  }
  return invocation.logs;
}

/** Exactly one audit line per decision: the one line, or the test fails. */
function onlyAuditLine(invocation: Invocation): RpcLogEntry {
  const audit = userLines(invocation).filter((l) => l.message.includes('"event":"audit.'));
  assert.equal(audit.length, 1, audit.map((l) => l.message).join("\n"));
  return audit[0] as RpcLogEntry;
}

const httpRequest = (
  method: string,
  route: string,
  headers: Record<string, string> = {},
  body?: { string: string } | { bytes: Uint8Array },
) => ({
  method,
  url: `https://func-broker.azurewebsites.net/api/${route}`,
  headers,
  query: {},
  params: {},
  ...(body !== undefined ? { body } : {}),
});

describe("the Azure Functions entry, loaded as the Node.js worker loads it", () => {
  test("host.json, package.json main and local.settings.sample.json fit the Functions host", () => {
    const host = JSON.parse(readFileSync(path.join(ROOT, "host.json"), "utf8")) as {
      version: string;
      extensionBundle: unknown;
      extensions: { http: unknown };
      logging: { applicationInsights: { samplingSettings: { isEnabled: boolean; excludedTypes: string } } };
    };
    assert.equal(host.version, "2.0");
    assert.deepEqual(host.extensionBundle, {
      id: "Microsoft.Azure.Functions.ExtensionBundle",
      version: "[4.*, 5.0.0)",
    });
    assert.deepEqual(host.extensions.http, { routePrefix: "api" });
    // Audit lines are traces: sampling must never drop them (the host splits on ';', ignoring case).
    const excluded = host.logging.applicationInsights.samplingSettings.excludedTypes
      .split(";")
      .map((t) => t.trim().toLowerCase());
    assert.ok(excluded.includes("trace") && excluded.includes("request"), String(excluded));
    assert.ok(existsSync(MAIN), `${MAIN} is built`);
    const settings = JSON.parse(readFileSync(path.join(ROOT, "local.settings.sample.json"), "utf8")) as {
      Values: Record<string, unknown>;
    };
    assert.equal(settings.Values["FUNCTIONS_WORKER_RUNTIME"], "node");
    for (const value of Object.values(settings.Values)) assert.equal(typeof value, "string");
    assert.equal(
      existsSync(path.join(ROOT, "local.settings.json")),
      false,
      "never a committed local.settings.json",
    );
  });

  test("main registers every function of the table with the metadata the host reads", async () => {
    const worker = await startStandInWorker(STATIC_ENV);
    try {
      assert.equal(worker.programmingModel?.name, "@azure/functions");
      const names = worker.functions.map((f) => f.name).sort();
      // The prober's timer is off by default: not registered without BROKER_PROBE_SCHEDULE.
      const expected = [...registrations.http, ...registrations.timers]
        .map((r) => r.name)
        .filter((n) => n !== "probe-timer")
        .sort();
      assert.deepEqual(names, expected);
      for (const route of registrations.http) {
        const metadata = worker.functions.find((f) => f.name === route.name);
        assert.ok(metadata);
        const { binding } = triggerOf(metadata);
        assert.equal(binding["type"], "httpTrigger");
        assert.equal(binding["direction"], "in");
        assert.equal(binding["route"], route.route);
        assert.equal(routeProblem(route.route), undefined, route.route);
        assert.deepEqual(binding["methods"], [...HTTP_METHODS]);
        assert.equal(binding["authLevel"], "anonymous");
        const outputs = Object.entries(metadata.bindings).filter(([, b]) => b.direction === "out");
        assert.deepEqual(
          outputs.map(([name, b]) => [name, b.type]),
          [["$return", "http"]],
        );
      }
      for (const timer of registrations.timers.filter((t) => t.name !== "probe-timer")) {
        const metadata = worker.functions.find((f) => f.name === timer.name);
        assert.ok(metadata);
        const { binding } = triggerOf(metadata);
        assert.equal(binding["type"], "timerTrigger");
        assert.equal(binding["direction"], "in");
        // NCRONTAB: six fields, seconds first.
        assert.match(binding["schedule"] as string, /^\S+( \S+){5}$/);
      }
      const schedules = Object.fromEntries(
        worker.functions.map((f) => [f.name, triggerOf(f).binding["schedule"]]),
      );
      assert.equal(schedules["rotation-sweep-timer"], "0 0 3 * * *");
      assert.equal(schedules["notice-sweep-timer"], "0 0 8 * * *");
    } finally {
      const { code } = await worker.close();
      assert.equal(code, 0);
    }
  });

  test("with BROKER_PROBE_SCHEDULE the prober's timer is registered on that schedule", async () => {
    const worker = await startStandInWorker({
      ...STATIC_ENV,
      BROKER_PROBE_SCHEDULE: "0 */5 * * * *",
      BROKER_PROBE_ALLOW_PROFILE: "ado-read",
    });
    try {
      const probe = worker.functions.find((f) => f.name === "probe-timer");
      assert.ok(probe);
      assert.equal(triggerOf(probe).binding["type"], "timerTrigger");
      assert.equal(triggerOf(probe).binding["schedule"], "0 */5 * * * *");
    } finally {
      await worker.close();
    }
  });

  test("a bad configuration stops the worker, naming the settings", () => {
    const run = spawnSync(process.execPath, [MAIN], {
      cwd: ROOT,
      env: { PATH: process.env["PATH"] ?? "", BROKER_TENANT_ID: "not-a-guid-canary" },
      encoding: "utf8",
    });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /KEY_VAULT_URL: is required/);
    assert.match(run.stderr, /BROKER_TENANT_ID: must be a tenant GUID/);
    assert.doesNotMatch(run.stderr, /not-a-guid-canary/);
  });

  test("a bad policy file ends the worker right after registering, naming the setting", async () => {
    const dir = scratchDir();
    const file = path.join(dir, "policy.json");
    writeFileSync(file, '{"profiles": "policy-canary"');
    const worker = await startStandInWorker({ ...STATIC_ENV, BROKER_POLICY_FILE: file });
    const { code, stderr } = await worker.exited;
    assert.notEqual(code, 0);
    assert.match(
      stderr,
      /BROKER_POLICY_FILE: invalid policy:\n\s+\$: is not valid JSON \(line 1, column \d+\)/,
    );
    assert.doesNotMatch(stderr, /policy-canary/);
  });

  test("invocations through the real invocation model: RPC in and out, every line through the invocation's context", async () => {
    const stack = await startTestStack();
    // Every credential in the notice window, and its webhook failing: a warning line.
    const env = appSettingsOf(stack, { BROKER_NOTICE_DAYS: "40", BROKER_ROTATE_BEFORE_DAYS: "45" });
    // The same app with one health check (which waits for the runtime), and stopped: its raw
    // stdout is the start-up lines.
    const idle = await startStandInWorker(env);
    assert.equal((await idle.http("health", httpRequest("GET", "health"))).status, 200);
    const startup = stdoutLines((await idle.close()).stdout);
    let worker: StandInWorker | undefined;
    try {
      worker = await startStandInWorker(env);
      const token = await callerToken(stack);
      const canaries = [token, "eyJhbGciOiJSUzI1NiJ9.eyJjYW5hcnkiOiJ4In0.c2lnbmF0dXJlLWNhbmFyeQ"];

      const health = await worker.http("health", httpRequest("GET", "health"));
      assert.equal(health.status, 200);
      assert.deepEqual(JSON.parse(health.text), { status: "ok" });

      // Not signed by a trusted issuer: 401, one audit line at Information.
      const forged = await worker.http(
        "token",
        httpRequest(
          "POST",
          "token",
          { "content-type": "application/json", authorization: `Bearer ${canaries[1]}` },
          { string: '{"profile":"nuget-feed"}' },
        ),
      );
      assert.equal(forged.status, 401);
      assert.match(forged.headers["www-authenticate"] ?? "", /^Bearer realm="token-broker"/);
      assert.equal(forged.headers["content-type"], "application/problem+json");
      assert.equal((JSON.parse(forged.text) as { code: string }).code, "invalid_token");
      const rejected = onlyAuditLine(forged);
      assert.equal(rejected.level, "information");
      assert.match(rejected.message, /"event":"audit.token"/);
      assert.match(rejected.message, /"outcome":"rejected"/);

      // The vault failing: 503, its audit line at Error.
      stack.keyVault.injectFault({ status: 503, count: 20, retryAfterSeconds: 0, operation: "getSecret" });
      const unavailable = await worker.http(
        "token",
        httpRequest(
          "POST",
          "token",
          { "content-type": "application/json", authorization: `Bearer ${token}` },
          { string: '{"profile":"nuget-feed"}' },
        ),
      );
      stack.keyVault.clearFaults();
      assert.equal(unavailable.status, 503, unavailable.text);
      const failed = onlyAuditLine(unavailable);
      assert.equal(failed.level, "error");
      assert.match(failed.message, /"event":"audit.token"/);
      assert.match(failed.message, /"outcome":"failed"/);

      // A real token request (body as bytes, as the host sends binary bodies): the PAT, one audit line.
      const issued = await worker.http(
        "token",
        httpRequest(
          "POST",
          "token",
          { "content-type": "application/json", authorization: `Bearer ${token}` },
          { bytes: new TextEncoder().encode('{"profile":"nuget-feed"}') },
        ),
      );
      assert.equal(issued.status, 200, issued.text);
      assert.equal(issued.headers["cache-control"], "no-store");
      const answer = JSON.parse(issued.text) as { token_type: string; access_token: string };
      assert.equal(answer.token_type, "Basic");
      canaries.push(answer.access_token);
      const ok = onlyAuditLine(issued);
      assert.equal(ok.level, "information");
      assert.match(ok.message, /"event":"audit.token"/);
      assert.match(ok.message, /"outcome":"issued"/);

      // A wrong method still reaches our dispatcher (405 + Allow), not the host's 404.
      const wrong = await worker.http("token", httpRequest("GET", "token"));
      assert.equal(wrong.status, 405);
      assert.equal(wrong.headers["allow"], "POST");

      const tooLarge = await worker.http(
        "token",
        httpRequest(
          "POST",
          "token",
          { "content-type": "application/json", authorization: `Bearer ${token}` },
          { string: "x".repeat(100 * 1024) },
        ),
      );
      assert.equal(tooLarge.status, 413);
      assert.equal(tooLarge.headers["content-type"], "application/problem+json");

      // The notice timer, with every delivery failing: a warning per notice, through the context.
      stack.webhookSink.failNext(500, 1000);
      const timer = await worker.timer("notice-sweep-timer");
      assert.equal(timer.error, undefined);
      const timerLines = userLines(timer);
      const warned = timerLines.filter((l) => l.message.includes('"event":"notice.failed"'));
      assert.ok(warned.length > 0, timerLines.map((l) => l.message).join("\n"));
      for (const line of warned) assert.equal(line.level, "warning");
      for (const line of timerLines) {
        const level = (JSON.parse(line.message) as { level: string }).level;
        assert.equal(line.level, { info: "information", warn: "warning", error: "error" }[level]);
      }

      const all = [health, forged, unavailable, issued, wrong, tooLarge, timer].flatMap((i) => i.logs);
      const { code, stdout, stderr } = await worker.close();
      worker = undefined;
      assert.equal(code, 0, stderr);
      // Nothing but the start-up lines reached raw stdout; no secret anywhere.
      assert.deepEqual(
        events(stdoutLines(stdout)).map((e) => e.event),
        events(startup).map((e) => e.event),
      );
      for (const text of [...all.map((l) => l.message), stdout, stderr]) {
        for (const canary of canaries) assert.ok(!text.includes(canary), "a secret reached a log");
      }
    } finally {
      await worker?.close();
      await stack.close();
    }
  });
});

describe("log lines during an invocation", () => {
  test("go to the invocation's InvocationContext with the host's levels, scrubbed; outside one, to the sink", async () => {
    const seen: { level: string; message: string }[] = [];
    const context = new functions.InvocationContext({
      invocationId: "inv-1",
      functionName: "token",
      logHandler: (level, ...args) => seen.push({ level, message: String(args[0]) }),
    });
    const sink: string[] = [];
    const log = createLogger((line) => sink.push(line));
    const jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlY2FuYXJ5";
    let later: Promise<void> | undefined;
    await withInvocationLog(context, async () => {
      log.info("a.info", { token: jwt });
      log.warn("a.warn");
      await Promise.resolve();
      log.error("a.error", { header: `Bearer ${"x".repeat(30)}` });
      // Work the invocation leaves running: its lines come after the answer.
      later = new Promise<void>((resolve) => setImmediate(resolve)).then(() => log.info("a.later"));
    });
    await later;
    log.info("outside");
    assert.deepEqual(
      seen.map((s) => [s.level, (JSON.parse(s.message) as { event: string }).event]),
      [
        ["information", "a.info"],
        ["warning", "a.warn"],
        ["error", "a.error"],
      ],
    );
    assert.ok(!seen.some((s) => s.message.includes(jwt) || s.message.includes("x".repeat(30))));
    assert.deepEqual(
      sink.map((l) => (JSON.parse(l) as { event: string }).event),
      ["a.later", "outside"],
    );
  });
});
