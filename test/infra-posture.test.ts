import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type BicepFile, parseBicep } from "./support/bicep.js";
import {
  functionAppIsFlexNode22AndLockedDown,
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
      "ftpsState",
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
});
