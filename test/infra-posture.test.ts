import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type BicepFile, bicepFilesUnder, parseBicep } from "./support/bicep.js";
import {
  flexRefusesNothingHere,
  functionAppIsFlexNode22AndLockedDown,
  mintingIdentityHoldsNoRoles,
  privateNetworkingIsComplete,
  roleIdsAreBuiltIn,
  hostStorageByIdentity,
  keyVaultIsRbacOnlyAndRecoverable,
  noKeyListing,
  outputsCarryNoSecrets,
  paramsAreDescribedAndSecretsHaveNoDefaults,
  parsesCleanly,
  roleAssignmentsAreDeterministic,
  storageIsKeylessAndPrivate,
  telemetryByIdentity,
} from "./support/infra-posture.js";

// The posture rules must be able to fail: each is fed a small Bicep snippet that breaks it.

const file = (source: string): BicepFile[] => [{ name: "bad.bicep", root: parseBicep(source) }];

const INFRA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../infra");

/** infra/ as it is, but with one edit to one file: the rule must see the edit. */
function infraWith(name: string, from: string, to: string): BicepFile[] {
  return bicepFilesUnder(INFRA).map((f) => {
    if (f.name !== name) return f;
    const source = readFileSync(path.join(INFRA, name), "utf8");
    assert.ok(source.includes(from), `infra/${name} contains ${from}`);
    return { name, root: parseBicep(source.replace(from, to)) };
  });
}

describe("infrastructure posture rules flag bad Bicep", () => {
  test("a syntax error", () => {
    assert.match(
      parsesCleanly(file("resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {"))[0] ?? "",
      /bad\.bicep/,
    );
  });

  test("a Key Vault with access policies, no RBAC, no purge protection", () => {
    const findings = keyVaultIsRbacOnlyAndRecoverable(
      file(`
resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv'
  properties: {
    enableRbacAuthorization: false
    enableSoftDelete: false
    accessPolicies: []
  }
}`),
    );
    assert.equal(findings.length, 5, findings.join("\n"));
    assert.ok(findings.some((f) => f.includes("enableRbacAuthorization")));
    assert.ok(findings.some((f) => f.includes("enablePurgeProtection")));
    assert.ok(findings.some((f) => f.includes("accessPolicies")));
  });

  test("an existing vault is a reference, not a declaration of posture", () => {
    assert.deepEqual(
      keyVaultIsRbacOnlyAndRecoverable(
        file(`resource kv 'Microsoft.KeyVault/vaults@2023-07-01' existing = { name: 'kv' }`),
      ),
      [],
    );
  });

  test("RBAC written in a comment does not count", () => {
    const findings = keyVaultIsRbacOnlyAndRecoverable(
      file(`
// enableRbacAuthorization: true
resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = if (deploy) {
  name: 'kv'
  properties: { enablePurgeProtection: true, softDeleteRetentionInDays: 90, enableRbacAuthorization: rbac }
}`),
    );
    assert.deepEqual(
      findings.map((f) => f.replace(/^.*needs /, "")),
      ["properties.enableRbacAuthorization = true"],
    );
  });

  test("listKeys, as a function or a method, anywhere", () => {
    const findings = noKeyListing(
      file(`
var a = listKeys(st.id, '2023-05-01').keys[0].value
var b = st.listKeys().keys[0].value
var c = st.listAccountSas('2023-05-01', {}).accountSasToken`),
    );
    assert.deepEqual(
      findings.map((f) => f.replace(/ at line.*/, "")),
      ["bad.bicep: calls listKeys()", "bad.bicep: calls listKeys()", "bad.bicep: calls listAccountSas()"],
    );
  });

  test("a storage account with shared keys, public blobs and old TLS", () => {
    const findings = storageIsKeylessAndPrivate(
      file(`
resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st'
  properties: { allowSharedKeyAccess: true, minimumTlsVersion: 'TLS1_0', supportsHttpsTrafficOnly: false }
}`),
    );
    assert.equal(findings.length, 4, findings.join("\n"));
  });

  test("a Function App on the wrong plan and runtime, with FTP, basic auth and Easy Auth", () => {
    const findings = functionAppIsFlexNode22AndLockedDown(
      file(`
resource plan 'Microsoft.Web/serverfarms@2024-04-01' = { name: 'p', sku: { name: 'Y1', tier: 'Dynamic' } }
resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: 'f'
  identity: { type: 'SystemAssigned' }
  properties: {
    httpsOnly: false
    siteConfig: { minTlsVersion: '1.0', ftpsState: 'AllAllowed' }
    functionAppConfig: { runtime: { name: 'node', version: '20' } }
  }
}
resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: { allow: true }
}
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'authsettingsV2'
  properties: { platform: { enabled: true } }
}`),
    );
    for (const expected of [
      "httpsOnly",
      "minTlsVersion",
      "runtime.version",
      "authentication.type",
      "identity.type",
      "sku.name",
      "sku.tier",
      "'ftp' must be allow: false",
      "'scm' must be allow: false",
      "authsettingsV2",
    ]) {
      assert.ok(
        findings.some((f) => f.includes(expected)),
        `${expected} not flagged in:\n${findings.join("\n")}`,
      );
    }
  });

  test("host storage by connection string, telemetry by key", () => {
    const source = `
resource app 'Microsoft.Web/sites@2024-04-01' = { name: 'f' }
resource ai 'Microsoft.Insights/components@2020-02-02' = { name: 'ai', properties: { DisableLocalAuth: false } }
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=st;AccountKey=\${key}'
    AzureWebJobsStorage__credential: 'connectionstring'
  }
}`;
    const storage = hostStorageByIdentity(file(source));
    for (const expected of [
      "connection string",
      "__accountName",
      "__clientId",
      "__credential",
      "storage key",
    ]) {
      assert.ok(
        storage.some((f) => f.includes(expected)),
        `${expected} not flagged in:\n${storage.join("\n")}`,
      );
    }
    const telemetry = telemetryByIdentity(file(source));
    assert.equal(telemetry.length, 2, telemetry.join("\n"));
  });

  test("role assignments with hand-made names", () => {
    const findings = roleAssignmentsAreDeterministic(
      file(`
resource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: 'my-assignment'
  properties: { roleDefinitionId: r }
}`),
    );
    assert.equal(findings.length, 2, findings.join("\n"));
  });

  test("undescribed params, unsecured secrets, secrets with defaults", () => {
    const findings = paramsAreDescribedAndSecretsHaveNoDefaults(
      file(`
param location string
@description('the admin password')
param adminPassword string = 'hunter2'
@description('a key')
@secure()
param apiKey string = 'abc'
@description('optional webhook')
@secure()
param noticeWebhookUrl string = ''`),
    );
    assert.deepEqual(findings, [
      "bad.bicep: param location has no @description",
      "bad.bicep: param adminPassword looks secret but is not @secure",
      "bad.bicep: secret param adminPassword has a default",
      "bad.bicep: secret param apiKey has a default",
    ]);
  });

  test("outputs that are secure, named like secrets, list keys or return a secure param", () => {
    const findings = outputsCarryNoSecrets(
      file(`
@description('x')
@secure()
param hook string
@secure()
output a string = 'x'
output storageSecret string = 'x'
output b string = st.listKeys().keys[0].value
output c string = 'url: \${hook}'
output d string = ai.properties.ConnectionString`),
    );
    assert.equal(findings.length, 5, findings.join("\n"));
  });

  test("site properties and app settings Flex Consumption refuses", () => {
    const findings = flexRefusesNothingHere(
      file(`
resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: 'f'
  properties: {
    containerSize: 1536
    siteConfig: {
      ftpsState: 'Disabled'
      linuxFxVersion: 'NODE|22'
      use32BitWorkerProcess: false
      appSettings: [
        { name: 'WEBSITE_RUN_FROM_PACKAGE', value: '1' }
      ]
    }
  }
}
resource web 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'web'
  properties: { alwaysOn: true }
}
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: {
    FUNCTIONS_WORKER_RUNTIME: 'node'
    functions_extension_version: '~4'
    WEBSITE_NODE_DEFAULT_VERSION: '~22'
    SCM_DO_BUILD_DURING_DEPLOYMENT: 'true'
  }
}`),
    );
    for (const expected of [
      "containerSize",
      "siteConfig.ftpsState",
      "siteConfig.linuxFxVersion",
      "siteConfig.use32BitWorkerProcess",
      "sets alwaysOn",
      "WEBSITE_RUN_FROM_PACKAGE",
      "FUNCTIONS_WORKER_RUNTIME",
      "functions_extension_version",
      "WEBSITE_NODE_DEFAULT_VERSION",
      "SCM_DO_BUILD_DURING_DEPLOYMENT",
    ]) {
      assert.ok(
        findings.some((f) => f.includes(expected)),
        `${expected} not flagged in:\n${findings.join("\n")}`,
      );
    }
    assert.equal(findings.length, 10, findings.join("\n"));
  });

  test("ftpsState put back on the real Function App is flagged", () => {
    const findings = flexRefusesNothingHere(
      infraWith(
        "app/function-app.bicep",
        "http20Enabled: true",
        "http20Enabled: true\n      ftpsState: 'Disabled'",
      ),
    );
    assert.deepEqual(findings, [
      "app/function-app.bicep: 'functionApp' sets siteConfig.ftpsState, which Flex Consumption refuses",
    ]);
  });

  test("a role id that is not Azure's, through a var, a loop or a stray literal", () => {
    const findings = roleIdsAreBuiltIn(
      file(`
var roles = [
  'b7e6dc6d-f1e8-4753-8033-0f2feb0a3b1b' // the old, wrong Storage Blob Data Owner
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
]
var kvRole = '00000000-0000-0000-0000-000000000001'
resource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in roles: {
    name: guid(role)
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: p
    }
  }
]
resource kv 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(kvRole)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', kvRole)
    principalId: p
  }
}
resource computed 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid('x')
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', someParam)
    principalId: p
  }
}`),
    );
    assert.deepEqual(findings, [
      "bad.bicep: role assignment 'ra' grants b7e6dc6d-f1e8-4753-8033-0f2feb0a3b1b, not a built-in role id",
      "bad.bicep: role assignment 'kv' grants 00000000-0000-0000-0000-000000000001, not a built-in role id",
      "bad.bicep: role assignment 'computed' grants no literal role id (undefined)",
      "bad.bicep: b7e6dc6d-f1e8-4753-8033-0f2feb0a3b1b at line 3 is not a built-in role id",
      "bad.bicep: 00000000-0000-0000-0000-000000000001 at line 6 is not a built-in role id",
    ]);
  });

  test("the old Storage Blob Data Owner id put back in infra/ is flagged", () => {
    const findings = roleIdsAreBuiltIn(
      infraWith(
        "app/storage.bicep",
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "b7e6dc6d-f1e8-4753-8033-0f2feb0a3b1b",
      ),
    );
    assert.equal(findings.length, 2, findings.join("\n"));
    assert.ok(findings.every((f) => f.includes("0f2feb0a3b1b")));
  });

  test("the minting identity given a role, a vault reference or the control identity's place", () => {
    const toStorage = mintingIdentityHoldsNoRoles(
      infraWith(
        "main.bicep",
        "identityPrincipalId: identity.outputs.principalId\n    publicNetworkAccess: privateNetworking",
        "identityPrincipalId: mintingIdentity.outputs.principalId\n    publicNetworkAccess: privateNetworking",
      ),
    );
    assert.deepEqual(toStorage, [
      "main.bicep: module 'storage' is given the minting identity mintingIdentity",
    ]);
    const asControl = mintingIdentityHoldsNoRoles(
      infraWith(
        "app/function-app.bicep",
        "AZURE_CLIENT_ID: identityClientId",
        "AZURE_CLIENT_ID: mintingIdentityClientId",
      ),
    );
    assert.equal(asControl.length, 1, asControl.join("\n"));
    assert.match(
      asControl[0] ?? "",
      /mintingIdentityClientId is used at line \d+ \(AZURE_CLIENT_ID < properties\)/,
    );
    const vaultReferences = mintingIdentityHoldsNoRoles(
      infraWith(
        "app/function-app.bicep",
        "keyVaultReferenceIdentity: identityId",
        "keyVaultReferenceIdentity: mintingIdentityId",
      ),
    );
    assert.equal(vaultReferences.length, 1, vaultReferences.join("\n"));
    const same = mintingIdentityHoldsNoRoles(
      infraWith(
        "main.bicep",
        "mintingIdentityClientId: mintingIdentity.outputs.clientId",
        "mintingIdentityClientId: identity.outputs.clientId",
      ),
    );
    assert.ok(
      same.includes("main.bicep: the minting identity is the control identity (identity)"),
      same.join("\n"),
    );
    const assigned = mintingIdentityHoldsNoRoles(
      file(`
resource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid('x')
  properties: { principalId: mintingPrincipalId }
}`).map((f) => ({ ...f, name: "main.bicep" })),
    );
    assert.deepEqual(assigned, [
      "main.bicep: no module is given mintingIdentityClientId (the minting identity)",
    ]);
  });

  test("private networking that leaves a door open", () => {
    assert.deepEqual(privateNetworkingIsComplete(infraWith("main.bicep", "", "")), []);
    const cases: [string, string, string, RegExp][] = [
      [
        "main.bicep",
        "param privateNetworking bool = false",
        "param privateNetworking bool = true",
        /default to false/,
      ],
      [
        "main.bicep",
        "recoverSoftDeleted: recoverKeyVault\n    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'",
        "recoverSoftDeleted: recoverKeyVault\n    publicNetworkAccess: 'Enabled'",
        /'keyVault' needs publicNetworkAccess/,
      ],
      [
        "app/storage.bicep",
        "publicNetworkAccess: publicNetworkAccess",
        "publicNetworkAccess: 'Enabled'",
        /storage.*from its parameter/,
      ],
      [
        "app/key-vault.bicep",
        "'Disabled' ? 'Deny' : 'Allow'",
        "'Disabled' ? 'Allow' : 'Allow'",
        /defaultAction 'Deny'/,
      ],
      [
        "app/function-app.bicep",
        "virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId",
        "vnetRouteAllEnabled: true",
        /needs properties.virtualNetworkSubnetId/,
      ],
      ["main.bicep", "= if (privateNetworking) {", "= {", /deployed if \(privateNetworking\)/],
      [
        "app/network.bicep",
        "serviceName: 'Microsoft.App/environments'",
        "serviceName: 'Microsoft.Web/serverFarms'",
        /Microsoft.App\/environments/,
      ],
      [
        "app/network.bicep",
        "zoneName: 'privatelink.vaultcore.azure.net'",
        "zoneName: 'privatelink.vault.azure.net'",
        /'vault' with zone/,
      ],
      ["app/network.bicep", "groupId: 'table'", "groupId: 'queue'", /'table' with zone/],
    ];
    for (const [name, from, to, expected] of cases) {
      const findings = privateNetworkingIsComplete(infraWith(name, from, to));
      assert.ok(
        findings.some((f) => expected.test(f)),
        `${name}: ${to} not flagged (${expected}) in:\n${findings.join("\n")}`,
      );
    }
  });
});
