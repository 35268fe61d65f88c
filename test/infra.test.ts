import assert from "node:assert/strict";
import { accessSync, constants, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { SETTING_NAMES } from "../src/config.js";
import { loadPolicyFile } from "../src/policy/load.js";
import {
  type BicepFile,
  type Node,
  bicepFilesUnder,
  calls,
  literal,
  modules,
  objectEntries,
  params,
  property,
  resources,
  variables,
} from "./support/bicep.js";
import { appSettings, postureFindings, roleGrants } from "./support/infra-posture.js";
import { BUILT_IN_ROLES, builtInRoleName } from "./support/infra-posture-roles.js";
import { isExcluded } from "./support/ignore-file.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const INFRA = path.join(ROOT, "infra");
const files = bicepFilesUnder(INFRA);
const fileNamed = (name: string): BicepFile => {
  const found = files.find((f) => f.name === name);
  assert.ok(found, `infra/${name} exists`);
  return found;
};
const main = fileNamed("main.bicep");
const readText = (relative: string) => readFileSync(path.join(ROOT, relative), "utf8");

/** A literal, or the literal a `var` of the same file holds. */
function resolved(file: BicepFile, node: Node | undefined): Node | undefined {
  if (node?.type === "identifier") return variables(file.root).get(node.text) ?? node;
  return node;
}

/** The names of the built-in roles a file's role assignments grant, sorted. */
function grantedRoles(file: BicepFile): string[] {
  return roleGrants([file])
    .flatMap((g) => g.roleIds)
    .map((id) => builtInRoleName(id) ?? id)
    .sort();
}

/** The service names under `services:` in azure.yaml (two-space indented keys). */
function azdServiceNames(): string[] {
  const lines = readText("azure.yaml").split("\n");
  const start = lines.indexOf("services:");
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break;
    const key = /^ {2}([A-Za-z0-9_-]+):\s*$/.exec(line);
    if (key?.[1] !== undefined) names.push(key[1]);
  }
  return names;
}

describe("infra/ (Bicep for azd up)", () => {
  test("every .bicep file parses and the posture rules find nothing", () => {
    assert.ok(files.length >= 6, files.map((f) => f.name).join(", "));
    assert.deepEqual(postureFindings(files), []);
  });

  test("declares each part of the deployment", () => {
    const types = new Set(
      files.flatMap((f) =>
        resources(f.root)
          .filter((r) => !r.existing)
          .map((r) => r.type),
      ),
    );
    for (const type of [
      "Microsoft.Resources/resourceGroups",
      "Microsoft.ManagedIdentity/userAssignedIdentities",
      "Microsoft.KeyVault/vaults",
      "Microsoft.Storage/storageAccounts",
      "Microsoft.Storage/storageAccounts/blobServices/containers",
      "Microsoft.OperationalInsights/workspaces",
      "Microsoft.Insights/components",
      "Microsoft.Web/serverfarms",
      "Microsoft.Web/sites",
      "Microsoft.Web/sites/config",
      "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
    ]) {
      assert.ok(types.has(type), `${type} is declared`);
    }
  });

  test("the control identity gets the roles it needs and no more, by their real ids", () => {
    assert.deepEqual(grantedRoles(fileNamed("app/key-vault.bicep")), ["Key Vault Secrets Officer"]);
    // The host: blobs (locks, keys, package, leases) and tables (diagnostic events); no queue is used.
    assert.deepEqual(grantedRoles(fileNamed("app/storage.bicep")), [
      "Storage Blob Data Owner",
      "Storage Table Data Contributor",
    ]);
    assert.deepEqual(grantedRoles(fileNamed("app/monitoring.bicep")), ["Monitoring Metrics Publisher"]);
    assert.equal(BUILT_IN_ROLES["Storage Blob Data Owner"], "b7e6dc6d-f1e8-4753-8033-0f276bb0955b");
    // Every assignment is for the control identity's principal, none for the minting identity.
    const principals = new Set(roleGrants(files).map((g) => g.principal));
    assert.deepEqual([...principals], ["identityPrincipalId"]);
    for (const m of modules(main.root).filter((m) => m.path !== "app/function-app.bicep")) {
      const given = property(m.body, "params", "identityPrincipalId")?.text;
      if (given !== undefined) assert.equal(given, "identity.outputs.principalId", m.symbol);
    }
  });

  test("two identities: AZURE_CLIENT_ID is the control one, BROKER_MINTING_CLIENT_ID the minting one", () => {
    const identities = modules(main.root).filter((m) => m.path === "app/identity.bicep");
    assert.deepEqual(identities.map((m) => m.symbol).sort(), ["identity", "mintingIdentity"]);
    const settings = appSettings(files);
    assert.equal(settings.get("AZURE_CLIENT_ID")?.text, "identityClientId");
    assert.equal(settings.get("BROKER_MINTING_CLIENT_ID")?.text, "mintingIdentityClientId");
    const appModule = modules(main.root).find((m) => m.path === "app/function-app.bicep");
    assert.equal(property(appModule?.body, "params", "identityClientId")?.text, "identity.outputs.clientId");
    assert.equal(
      property(appModule?.body, "params", "mintingIdentityClientId")?.text,
      "mintingIdentity.outputs.clientId",
    );
    const site = resources(fileNamed("app/function-app.bicep").root).find(
      (r) => r.type === "Microsoft.Web/sites",
    );
    // Interpolated keys: read as written.
    const attached = property(site?.body, "identity", "userAssignedIdentities")
      ?.namedChildren.filter((n) => n.type === "object_property")
      .map((n) => n.namedChildren[0]?.text);
    assert.deepEqual(attached, ["'${identityId}'", "'${mintingIdentityId}'"]);
    const outputNames = main.root.namedChildren
      .filter((n) => n.type === "output_declaration")
      .map((n) => n.namedChildren[0]?.text);
    assert.ok(outputNames.includes("BROKER_MINTING_CLIENT_ID"));
  });

  test("app settings carry every setting the broker's config reads", () => {
    const settings = appSettings(files);
    // PORT is the local host's; the AzureWebJobsStorage forms are the Functions host's own (the
    // deployment sets the identity-based ones and gives the broker BROKER_LEASE_STORAGE_URL).
    const notDeployed = new Set([
      "PORT",
      "AzureWebJobsStorage",
      "AzureWebJobsStorage__blobServiceUri",
      "WEBSITE_INSTANCE_ID", // set by the platform on every instance
      "BROKER_DEV_STACK", // the dev stack's flag only: config refuses it in Azure
      // OpenTelemetry's own variables: for an operator's OTLP collector; the deployment exports
      // to Application Insights (APPLICATIONINSIGHTS_CONNECTION_STRING).
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
      "OTEL_METRIC_EXPORT_INTERVAL",
      "OTEL_SERVICE_NAME",
      "WEBSITE_HOSTNAME", // set by the platform: the prober's default target
    ]);
    assert.equal(settings.has("BROKER_DEV_STACK"), false, "BROKER_DEV_STACK is never deployed");
    const missing = SETTING_NAMES.filter((name) => !notDeployed.has(name) && !settings.has(name));
    assert.deepEqual(missing, [], "settings of src/config.ts without an app setting");
    assert.ok(SETTING_NAMES.includes("KEY_VAULT_URL"), "SETTING_NAMES comes from the schema");
    assert.equal(settings.has("BROKER_DEV_STACK"), false, "the dev flag is never deployed");
    // Secret-bearing URLs reach the app as Key Vault references, never as values.
    for (const name of ["BROKER_NOTICE_WEBHOOK_URL", "BROKER_NOTICE_TEAMS_URL"]) {
      const value = settings.get(name);
      assert.equal(value?.type, "ternary_expression", name);
      const reference = resolved(fileNamed("app/function-app.bicep"), value.namedChildren.at(-1));
      assert.match(reference?.text ?? "", /^'@Microsoft\.KeyVault\(SecretUri=/, name);
    }
  });

  test("the policy file setting points at a file the package carries, and the sample is valid", () => {
    const policyParam = params(main.root).find((p) => p.name === "brokerPolicyFile");
    assert.equal(literal(policyParam?.defaultValue), "policy/policy.json");
    assert.equal(isExcluded(readText(".funcignore"), "policy/policy.json"), false);
    // As deployed: a user-assigned control identity and a separate minting identity.
    loadPolicyFile(path.join(ROOT, "policy", "policy.sample.json"), {
      controlClientId: "00000000-0000-4000-8000-0000000000c0",
      mintingClientId: "00000000-0000-4000-8000-0000000000a0",
    });
  });

  test("the package keeps what the Functions host runs and leaves dev files out", () => {
    const ignore = readText(".funcignore");
    const main = (JSON.parse(readText("package.json")) as { main: string }).main;
    for (const kept of ["host.json", "package.json", "package-lock.json", main, "policy/policy.json"]) {
      assert.equal(isExcluded(ignore, kept), false, `${kept} is packaged`);
    }
    for (const left of [
      "node_modules/zod/package.json",
      "test/infra.test.ts",
      "dist/test/infra.test.js",
      "infra/main.bicep",
    ]) {
      assert.equal(isExcluded(ignore, left), true, `${left} is left out`);
    }
  });

  test("names come from the abbreviations file and one resource token", () => {
    const abbreviations = JSON.parse(readText("infra/abbreviations.json")) as Record<string, string>;
    const load = calls(main.root).find((c) => c.name === "loadJsonContent");
    assert.equal(literal(load?.node.namedChildren[1]?.namedChildren[0]), "abbreviations.json");
    const token = calls(main.root).find((c) => c.name === "uniqueString");
    assert.equal(token?.node.namedChildren[1]?.text, "(subscription().id, environmentName, location)");
    const used = main.root
      .descendantsOfType("member_expression")
      .filter((m) => m.namedChildren[0]?.text === "abbrs")
      .map((m) => m.namedChildren.at(-1)?.text ?? "");
    assert.ok(used.length >= 7);
    for (const key of used) assert.ok(key in abbreviations, `abbreviations.json has ${key}`);
  });

  test("azd finds the app: azd-env-name everywhere, azd-service-name matching azure.yaml", () => {
    const tags = variables(main.root).get("tags");
    assert.ok(objectEntries(tags).some(([key]) => key === "azd-env-name"));
    const site = resources(fileNamed("app/function-app.bicep").root).find(
      (r) => r.type === "Microsoft.Web/sites",
    );
    assert.match(property(site?.body, "tags")?.text ?? "", /'azd-service-name': serviceName/);
    const appModule = modules(main.root).find((m) => m.path === "app/function-app.bicep");
    const serviceName = resolved(main, property(appModule?.body, "params", "serviceName"));
    assert.deepEqual(azdServiceNames(), [literal(serviceName)]);
  });

  test("modules get exactly the params they declare, and azd can fill main's", () => {
    // Every file's modules (network.bicep calls private-endpoint.bicep), paths relative to the caller.
    const moduleCalls = files.flatMap((f) =>
      modules(f.root).map((m) => ({ ...m, path: path.posix.join(path.posix.dirname(f.name), m.path) })),
    );
    assert.ok(moduleCalls.some((m) => m.path === "app/private-endpoint.bicep"));
    for (const m of moduleCalls) {
      const declared = params(fileNamed(m.path).root);
      const passed = objectEntries(property(m.body, "params")).map(([name]) => name);
      for (const name of passed)
        assert.ok(
          declared.some((p) => p.name === name),
          `${m.path} declares ${name}`,
        );
      for (const p of declared.filter((d) => d.defaultValue === undefined)) {
        assert.ok(passed.includes(p.name), `${m.path} is given ${p.name}`);
      }
    }
    const parameterFile = JSON.parse(readText("infra/main.parameters.json")) as {
      parameters: Record<string, unknown>;
    };
    const mainParams = params(main.root);
    for (const name of Object.keys(parameterFile.parameters)) {
      assert.ok(
        mainParams.some((p) => p.name === name),
        `main.bicep declares ${name}`,
      );
    }
    for (const p of mainParams.filter((d) => d.defaultValue === undefined)) {
      assert.ok(p.name in parameterFile.parameters, `main.parameters.json gives ${p.name}`);
    }
  });

  test("the app registration script declares the app roles for apps and users, and azd runs it", () => {
    const script = readText("infra/scripts/app-registration.sh");
    const roles = JSON.parse(/<<'JSON'\n([\s\S]*?)\nJSON/.exec(script)?.[1] ?? "[]") as {
      value: string;
      allowedMemberTypes: string[];
    }[];
    assert.deepEqual(
      roles.map((r) => [r.value, [...r.allowedMemberTypes].sort()]),
      [
        ["Inventory.Read", ["Application", "User"]],
        ["Policy.Read", ["Application", "User"]],
        ["Secrets.Admin", ["Application", "User"]],
      ],
    );
    const azureYaml = readText("azure.yaml");
    for (const script of ["infra/scripts/app-registration.sh", "infra/scripts/check-policy.sh"]) {
      assert.ok(azureYaml.includes(`./${script}`), `azure.yaml runs ${script}`);
      accessSync(path.join(ROOT, script), constants.X_OK);
    }
  });
});
