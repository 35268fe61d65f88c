import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

/**
 * The azd hooks as azd runs them: infra/scripts/app-registration.sh under the system `sh` (dash
 * here: POSIX, no bash-isms), with `az` and `azd` on PATH being stand-ins that keep an Entra-like
 * state in a JSON file and answer the exact commands Azure CLI would (`az ad app list --filter`
 * passes the OData filter through; `--display-name` is startswith(), as in azure-cli's
 * list_applications). Graph's own rules that matter here are modelled: a new app is not readable
 * at once (replication), an enabled scope cannot be dropped, and a pre-authorization must name an
 * existing scope.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SCRIPT = path.join(ROOT, "infra/scripts/app-registration.sh");
const AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

interface Scope {
  id: string;
  value: string;
  isEnabled: boolean;
}
interface App {
  appId: string;
  id: string;
  displayName: string;
  /** Reads that still answer 404 (replication). */
  lag: number;
  identifierUris: string[];
  appRoles: { id: string; value: string }[];
  api: {
    oauth2PermissionScopes: Scope[];
    preAuthorizedApplications: { appId: string; delegatedPermissionIds: string[] }[];
  };
}
interface State {
  apps: App[];
  servicePrincipals: string[];
  azdEnv: Record<string, string>;
  newAppLag: number;
  calls: string[][];
}

// The stand-ins, as one Node program: `az …` and `azd …` both exec it (argv[2] says which).
const FAKE = String.raw`
const fs = require("node:fs");
const crypto = require("node:crypto");
const file = process.env.FAKE_STATE;
const state = JSON.parse(fs.readFileSync(file, "utf8"));
const [tool, ...args] = process.argv.slice(2);
state.calls.push([tool, ...args]);
const save = () => fs.writeFileSync(file, JSON.stringify(state));
const out = (s) => { save(); if (s !== undefined && s !== null && s !== "") process.stdout.write(s + "\n"); process.exit(0); };
const die = (code, msg) => { save(); process.stderr.write("ERROR: " + msg + "\n"); process.exit(code); };
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const cmd = args.filter((a, i) => !a.startsWith("-") && (i === 0 || !args[i - 1].startsWith("-"))).join(" ");
const body = (value) => JSON.parse(fs.readFileSync(value.replace(/^@/, ""), "utf8"));
const find = (id) => state.apps.find((a) => a.appId === id || a.id === id);
const readable = (id) => {
  const app = find(id);
  if (app === undefined) die(3, "Resource '" + id + "' does not exist or one of its queried reference-property objects are not present.");
  if (app.lag > 0) { app.lag -= 1; die(3, "Resource '" + id + "' does not exist or one of its queried reference-property objects are not present."); }
  return app;
};
if (tool === "azd") {
  if (args[0] === "env" && args[1] === "set") { state.azdEnv[args[2]] = args[3]; out(); }
  die(2, "fake azd: " + args.join(" "));
}
switch (cmd) {
  case "cloud show":
    if (opt("--query") === "endpoints.microsoftGraphResourceId") out("https://graph.microsoft.com/");
    break;
  case "ad app list": {
    let match;
    const filter = opt("--filter");
    if (filter !== undefined) {
      const m = /^displayName eq '((?:[^']|'')*)'$/.exec(filter);
      if (m === null) die(2, "fake az: unsupported filter " + filter);
      const name = m[1].replace(/''/g, "'");
      match = (a) => a.displayName === name;
    } else if (opt("--display-name") !== undefined) {
      const prefix = opt("--display-name");
      match = (a) => a.displayName.startsWith(prefix);
    } else die(2, "fake az: list without a filter");
    if (opt("--query") !== "[].appId" || opt("-o") !== "tsv") die(2, "fake az: unsupported list output");
    out(state.apps.filter(match).map((a) => a.appId).join("\n"));
    break;
  }
  case "ad app create": {
    const app = { appId: crypto.randomUUID(), id: crypto.randomUUID(), displayName: opt("--display-name"), lag: state.newAppLag,
      identifierUris: [], appRoles: [], api: { oauth2PermissionScopes: [], preAuthorizedApplications: [] } };
    if (opt("--sign-in-audience") !== "AzureADMyOrg") die(2, "fake az: audience");
    state.apps.push(app);
    out(opt("--query") === "appId" ? app.appId : JSON.stringify(app));
    break;
  }
  case "ad app show": {
    const app = readable(opt("--id"));
    const q = opt("--query");
    if (q === "id") out(app.id);
    if (q === "api.oauth2PermissionScopes[?value=='user_impersonation'].id | [0]") {
      out(app.api.oauth2PermissionScopes.find((s) => s.value === "user_impersonation")?.id ?? "");
    }
    die(2, "fake az: unsupported query " + q);
    break;
  }
  case "ad app update": {
    const app = readable(opt("--id"));
    const roles = body(opt("--app-roles"));
    for (const r of roles) {
      const old = app.appRoles.find((o) => o.value === r.value);
      if (old !== undefined && old.id !== r.id) die(1, "Bad Request: the id of app role " + r.value + " cannot change");
    }
    app.appRoles = roles;
    app.identifierUris = [opt("--identifier-uris")];
    out();
    break;
  }
  case "rest": {
    const m = /^https:\/\/graph\.microsoft\.com\/v1\.0\/applications\/([0-9a-f-]+)$/.exec(opt("--uri") ?? "");
    if (opt("--method") !== "PATCH" || m === null) die(2, "fake az: unsupported rest call");
    const app = state.apps.find((a) => a.id === m[1]);
    if (app === undefined) die(3, "Not Found");
    const api = body(opt("--body")).api ?? {};
    const scopes = api.oauth2PermissionScopes ?? app.api.oauth2PermissionScopes;
    for (const old of app.api.oauth2PermissionScopes) {
      const kept = scopes.find((s) => s.id === old.id);
      if (old.isEnabled && (kept === undefined || kept.value !== old.value)) {
        die(1, "Bad Request: Permission (scope or role) cannot be deleted or updated unless disabled first.");
      }
    }
    const preAuthorized = api.preAuthorizedApplications ?? app.api.preAuthorizedApplications;
    for (const p of preAuthorized) {
      for (const id of p.delegatedPermissionIds) {
        if (!app.api.oauth2PermissionScopes.some((s) => s.id === id)) {
          die(1, "Bad Request: Property PreAuthorizedApplication references applications " + p.appId + " that cannot be found or a permission that does not exist.");
        }
      }
    }
    app.api = { oauth2PermissionScopes: scopes, preAuthorizedApplications: preAuthorized };
    out();
    break;
  }
  case "ad sp show":
    if (!state.servicePrincipals.includes(opt("--id"))) die(3, "Resource does not exist");
    out("{}");
    break;
  case "ad sp create":
    readable(opt("--id"));
    state.servicePrincipals.push(opt("--id"));
    out("{}");
    break;
}
die(2, "fake az: unsupported " + args.join(" "));
`;

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function sandbox(initial: Partial<State> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "broker-hook-"));
  dirs.push(dir);
  const program = path.join(dir, "fake.cjs");
  writeFileSync(program, FAKE);
  for (const tool of ["az", "azd"]) {
    const shim = path.join(dir, tool);
    writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${program}" ${tool} "$@"\n`);
    chmodSync(shim, 0o755);
  }
  const stateFile = path.join(dir, "state.json");
  const state: State = { apps: [], servicePrincipals: [], azdEnv: {}, newAppLag: 0, calls: [], ...initial };
  writeFileSync(stateFile, JSON.stringify(state));
  const run = (env: Record<string, string> = {}) =>
    spawnSync("sh", [SCRIPT], {
      encoding: "utf8",
      env: {
        PATH: `${dir}:/usr/bin:/bin`,
        FAKE_STATE: stateFile,
        AZURE_ENV_NAME: "dev",
        BROKER_GRAPH_RETRY_SECONDS: "0",
        ...env,
      },
    });
  const read = () => JSON.parse(readFileSync(stateFile, "utf8")) as State;
  return { run, read };
}

function app(displayName: string, extra: Partial<App> = {}): App {
  return {
    appId: crypto.randomUUID(),
    id: crypto.randomUUID(),
    displayName,
    lag: 0,
    identifierUris: [],
    appRoles: [],
    api: { oauth2PermissionScopes: [], preAuthorizedApplications: [] },
    ...extra,
  };
}

const scopeIdInScript = /^scope_id="([0-9a-f-]{36})"/m.exec(readFileSync(SCRIPT, "utf8"))?.[1];

describe("the app registration hook (infra/scripts/app-registration.sh)", () => {
  test("is POSIX sh and bash syntax", () => {
    execFileSync("sh", ["-n", SCRIPT]);
    execFileSync("bash", ["-n", SCRIPT]);
    assert.ok(scopeIdInScript, "a fixed user_impersonation scope id");
  });

  test("makes the app with roles, the user_impersonation scope, the Azure CLI pre-authorized, waiting for replication", () => {
    const { run, read } = sandbox({ newAppLag: 3 });
    const result = run();
    assert.equal(result.status, 0, result.stderr + result.stdout);
    const state = read();
    assert.equal(state.apps.length, 1);
    const made = state.apps[0];
    assert.ok(made);
    assert.equal(made.displayName, "token-broker-dev");
    assert.deepEqual(made.identifierUris, [`api://${made.appId}`]);
    assert.deepEqual(made.appRoles.map((r) => r.value).sort(), [
      "Inventory.Read",
      "Policy.Read",
      "Secrets.Admin",
    ]);
    assert.deepEqual(
      made.api.oauth2PermissionScopes.map((s) => [s.id, s.value, s.isEnabled]),
      [[scopeIdInScript, "user_impersonation", true]],
    );
    assert.deepEqual(made.api.preAuthorizedApplications, [
      { appId: AZURE_CLI, delegatedPermissionIds: [scopeIdInScript] },
    ]);
    assert.deepEqual(state.servicePrincipals, [made.appId]);
    assert.deepEqual(state.azdEnv, {
      BROKER_APP_ID: made.appId,
      BROKER_AUDIENCE: `api://${made.appId},${made.appId}`,
    });
    assert.match(result.stdout, /waiting for app .* to replicate in Microsoft Graph \(3\/12\)/);
  });

  test("a second run changes nothing and makes no second app", () => {
    const { run, read } = sandbox();
    assert.equal(run().status, 0);
    const first = read();
    const again = run({ BROKER_APP_ID: first.azdEnv.BROKER_APP_ID ?? "" });
    assert.equal(again.status, 0, again.stderr);
    const byName = run();
    assert.equal(byName.status, 0, byName.stderr);
    const second = read();
    assert.equal(second.apps.length, 1);
    assert.deepEqual(second.apps, first.apps);
    assert.deepEqual(second.servicePrincipals, first.servicePrincipals);
    assert.ok(
      second.calls.every(
        (c) => !(c[1] === "ad" && c[2] === "app" && c[3] === "list" && c.includes("--display-name")),
      ),
      "never the startswith() lookup",
    );
  });

  test("never adopts another environment's app whose name only starts the same", () => {
    const other = app("token-broker-dev2");
    const { run, read } = sandbox({ apps: [other] });
    const result = run();
    assert.equal(result.status, 0, result.stderr);
    const state = read();
    assert.equal(state.apps.length, 2);
    assert.deepEqual(state.apps[0], other, "token-broker-dev2 untouched");
    assert.equal(state.azdEnv.BROKER_APP_ID, state.apps[1]?.appId);
  });

  test("refuses when two apps have the exact name, touching neither", () => {
    const apps = [app("token-broker-dev"), app("token-broker-dev")];
    const { run, read } = sandbox({ apps });
    const result = run();
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /2 app registrations are named 'token-broker-dev'; set BROKER_APP_ID/);
    assert.deepEqual(read().apps, apps);
    assert.deepEqual(read().azdEnv, {});
  });

  test("keeps the id of a user_impersonation scope made by hand", () => {
    const handMade = "11111111-2222-4333-8444-555555555555";
    const existing = app("token-broker-dev", {
      api: {
        oauth2PermissionScopes: [{ id: handMade, value: "user_impersonation", isEnabled: true }],
        preAuthorizedApplications: [],
      },
    });
    const { run, read } = sandbox({ apps: [existing], servicePrincipals: [existing.appId] });
    const result = run();
    assert.equal(result.status, 0, result.stderr);
    const api = read().apps[0]?.api;
    assert.ok(api);
    assert.deepEqual(
      api.oauth2PermissionScopes.map((s) => s.id),
      [handMade],
    );
    assert.deepEqual(api.preAuthorizedApplications, [
      { appId: AZURE_CLI, delegatedPermissionIds: [handMade] },
    ]);
  });

  test("names with a quote are quoted for OData", () => {
    const { run, read } = sandbox();
    const result = run({ BROKER_APP_DISPLAY_NAME: "broker o'brien" });
    assert.equal(result.status, 0, result.stderr);
    const list = read().calls.find((c) => c.includes("--filter"));
    assert.equal(list?.[list.indexOf("--filter") + 1], "displayName eq 'broker o''brien'");
  });

  test("skips when the registration is someone else's", () => {
    const { run, read } = sandbox();
    const result = run({ BROKER_AUDIENCE: "api://x,x" });
    assert.equal(result.status, 0);
    assert.deepEqual(read().calls, []);
  });
});

/** hooks.<name>.<platform>.{shell,run} from azure.yaml (the plain block style it is written in). */
function azdHooks(): Map<string, { shell?: string; run?: string }> {
  const found = new Map<string, { shell?: string; run?: string }>();
  const lines = readFileSync(path.join(ROOT, "azure.yaml"), "utf8").split("\n");
  let inHooks = false;
  let hook = "";
  let platform = "";
  for (const line of lines) {
    if (/^\S/.test(line)) inHooks = line.startsWith("hooks:");
    if (!inHooks || /^\s*#/.test(line)) continue;
    const hookKey = /^ {2}([a-z]+):\s*$/.exec(line)?.[1];
    if (hookKey !== undefined) hook = hookKey;
    const platformKey = /^ {4}([a-z]+):\s*$/.exec(line)?.[1];
    if (platformKey !== undefined) platform = platformKey;
    const field = /^ {6}(shell|run):\s*(\S+)\s*$/.exec(line);
    if (field?.[1] !== undefined && field[2] !== undefined) {
      const key = `${hook}.${platform}`;
      found.set(key, { ...found.get(key), [field[1]]: field[2] });
    }
  }
  return found;
}

const guids = (text: string) =>
  new Set(text.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g));

describe("azd hooks on every platform", () => {
  test("each hook runs sh on POSIX and pwsh on Windows, and the scripts exist", () => {
    const hooks = azdHooks();
    for (const [hook, script] of [
      ["preprovision", "app-registration"],
      ["prepackage", "check-policy"],
    ] as const) {
      assert.deepEqual(hooks.get(`${hook}.posix`), { shell: "sh", run: `./infra/scripts/${script}.sh` });
      assert.deepEqual(hooks.get(`${hook}.windows`), { shell: "pwsh", run: `./infra/scripts/${script}.ps1` });
      for (const ext of ["sh", "ps1"]) readFileSync(path.join(ROOT, `infra/scripts/${script}.${ext}`));
    }
    assert.equal(hooks.size, 4, [...hooks.keys()].join(", "));
  });

  test("the PowerShell registration sends the same fixed ids and pre-authorizes the same client", () => {
    const sh = readFileSync(SCRIPT, "utf8");
    const ps1 = readFileSync(path.join(ROOT, "infra/scripts/app-registration.ps1"), "utf8");
    assert.deepEqual([...guids(ps1)].sort(), [...guids(sh)].sort());
    assert.ok(guids(sh).has(AZURE_CLI));
    assert.match(ps1, new RegExp(`\\$scopeId = '${scopeIdInScript ?? "missing"}'`));
    for (const [id, value] of [
      ["faac2065-5aee-4ed5-8b7c-9d3e759aa627", "Inventory.Read"],
      ["465e1d0c-f22e-4590-b588-c75fcddcfc69", "Policy.Read"],
      ["10aa343d-51e1-4045-8e51-9967150969aa", "Secrets.Admin"],
    ] as const) {
      assert.match(ps1, new RegExp(`id = '${id}'\\s+value = '${value.replace(".", "\\.")}'`));
      assert.match(sh, new RegExp(`"id": "${id}",\\s+"value": "${value.replace(".", "\\.")}"`));
    }
    // Exact lookup, both places; never the startswith() one.
    assert.match(ps1, /'--filter', "displayName eq '\$odataName'"/);
    const code = (ps1 + sh)
      .split("\n")
      .filter((line) => !/^\s*#/.test(line))
      .join("\n");
    assert.doesNotMatch(code, /--display-name "\$display_name" --query|'list', '--display-name'/);
  });
});
