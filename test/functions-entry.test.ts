import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import functions from "@azure/functions";
import { azureHttpHandler } from "../src/functions/azure-adapter.js";
import { registrations } from "../src/functions/registrations.js";
import { callerToken, startTestStack } from "./support/dev-stack.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  main: string;
  type: string;
};

describe("the Azure Functions entry", () => {
  test("host.json, package.json main and local.settings.sample.json fit the Functions host", () => {
    const host = JSON.parse(readFileSync(path.join(ROOT, "host.json"), "utf8")) as Record<string, unknown>;
    assert.equal(host["version"], "2.0");
    assert.deepEqual(host["extensionBundle"], {
      id: "Microsoft.Azure.Functions.ExtensionBundle",
      version: "[4.*, 5.0.0)",
    });
    assert.deepEqual((host["extensions"] as { http: unknown }).http, { routePrefix: "api" });
    assert.ok(existsSync(path.join(ROOT, pkg.main)), `${pkg.main} is built`);
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

  test("the main module registers every function of the table", () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, pkg.main)], {
      cwd: ROOT,
      env: {
        PATH: process.env["PATH"] ?? "",
        KEY_VAULT_URL: "https://kv-test.vault.azure.net",
        BROKER_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
        BROKER_AUDIENCE: "api://token-broker",
        BROKER_POLICY_FILE: path.join(ROOT, "policy", "dev.json"),
        // dev.json mints with the minting identity; the control identity is the system-assigned one here.
        BROKER_MINTING_CLIENT_ID: "a1b2c3d4-0000-4000-8000-0000000000e3",
      },
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    // Outside the Functions host the library runs in test mode and names each registration it skips.
    for (const route of registrations.http)
      assert.match(run.stdout + run.stderr, new RegExp(`"${route.name}"`));
  });

  test("a bad configuration stops the worker, naming the settings", () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, pkg.main)], {
      cwd: ROOT,
      env: { PATH: process.env["PATH"] ?? "", BROKER_TENANT_ID: "not-a-guid-canary" },
      encoding: "utf8",
    });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /KEY_VAULT_URL: is required/);
    assert.match(run.stderr, /BROKER_TENANT_ID: must be a tenant GUID/);
    assert.doesNotMatch(run.stderr, /not-a-guid-canary/);
  });
});

describe("the Azure adapter in front of the same handlers", () => {
  test("translates Functions requests and responses both ways", async () => {
    const stack = await startTestStack();
    try {
      const route = registrations.http.find((r) => r.name === "token");
      assert.ok(route);
      const handle = azureHttpHandler(route, stack.runtime);
      const token = await callerToken(stack);
      const post = (body: string, headers: Record<string, string>, method = "POST") =>
        handle(
          new functions.HttpRequest({
            method,
            url: "https://broker.example/api/token",
            headers,
            body: { string: body },
          }),
        );

      const ok = await post('{"profile":"nuget-feed"}', {
        "Content-Type": "application/json",
        Authorization: `Bearer ${token}`,
      });
      assert.equal(ok.status, 200);
      assert.equal((ok.headers as Record<string, string>)["cache-control"], "no-store");
      assert.equal((JSON.parse(ok.body as string) as { token_type: string }).token_type, "Basic");

      const wrongMethod = await post("", {}, "GET");
      assert.equal(wrongMethod.status, 405);
      assert.equal((wrongMethod.headers as Record<string, string>)["allow"], "POST");

      const big = "x".repeat(100 * 1024);
      const tooLarge = await post(big, {
        "Content-Type": "application/json",
        Authorization: `Bearer ${token}`,
      });
      assert.equal(tooLarge.status, 413);
      assert.equal((tooLarge.headers as Record<string, string>)["content-type"], "application/problem+json");

      const anonymous = await post('{"profile":"nuget-feed"}', { "Content-Type": "application/json" });
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.body as string, /"code":"missing_token"/);
    } finally {
      await stack.close();
    }
  });
});
