import {
  arrayItems,
  type BicepFile,
  type Node,
  type Resource,
  calls,
  identifiersIn,
  literal,
  objectEntries,
  outputs,
  params,
  property,
  resources,
  syntaxProblems,
} from "./bicep.js";

/**
 * The deployment's security posture as rules over Bicep syntax trees. Each rule answers findings
 * (`file: what is wrong`); none means the rule holds. Tests run them on infra/ and on small bad
 * snippets, so each rule is seen to fail as well as pass.
 */

export type Rule = (files: readonly BicepFile[]) => string[];

interface Declared extends Resource {
  file: string;
}

function declared(files: readonly BicepFile[], type: string): Declared[] {
  return files.flatMap((f) =>
    resources(f.root)
      .filter((r) => r.type.toLowerCase() === type.toLowerCase() && !r.existing)
      .map((r) => ({ ...r, file: f.name })),
  );
}

/** A finding unless the value at `keys` under the resource body is exactly `expected`. */
function expectLiteral(r: Declared, expected: string | number | boolean, ...keys: string[]): string[] {
  const value = literal(property(r.body, ...keys));
  return value === expected
    ? []
    : [`${r.file}: ${r.type} '${r.symbol}' needs ${keys.join(".")} = ${JSON.stringify(expected)}`];
}

export const parsesCleanly: Rule = (files) =>
  files.flatMap((f) => syntaxProblems(f.root).map((p) => `${f.name}: ${p}`));

export const keyVaultIsRbacOnlyAndRecoverable: Rule = (files) =>
  declared(files, "Microsoft.KeyVault/vaults").flatMap((r) => [
    ...expectLiteral(r, true, "properties", "enableRbacAuthorization"),
    ...expectLiteral(r, true, "properties", "enablePurgeProtection"),
    ...(literal(property(r.body, "properties", "enableSoftDelete")) === false
      ? [`${r.file}: Key Vault '${r.symbol}' must keep soft delete on`]
      : []),
    ...(property(r.body, "properties", "softDeleteRetentionInDays") === undefined
      ? [`${r.file}: Key Vault '${r.symbol}' needs properties.softDeleteRetentionInDays`]
      : []),
    ...(property(r.body, "properties", "accessPolicies") === undefined
      ? []
      : [`${r.file}: Key Vault '${r.symbol}' has accessPolicies; access is by RBAC role assignments only`]),
  ]);

/** Bicep's `list*` functions (listKeys, listAccountSas, …) read keys; nothing here may need one. */
export const noKeyListing: Rule = (files) =>
  files.flatMap((f) =>
    calls(f.root)
      .filter((c) => /^list/i.test(c.name))
      .map((c) => `${f.name}: calls ${c.name}() at line ${c.node.startPosition.row + 1}`),
  );

export const storageIsKeylessAndPrivate: Rule = (files) =>
  declared(files, "Microsoft.Storage/storageAccounts").flatMap((r) => [
    ...expectLiteral(r, false, "properties", "allowSharedKeyAccess"),
    ...expectLiteral(r, false, "properties", "allowBlobPublicAccess"),
    ...expectLiteral(r, "TLS1_2", "properties", "minimumTlsVersion"),
    ...(literal(property(r.body, "properties", "supportsHttpsTrafficOnly")) === false
      ? [`${r.file}: storage '${r.symbol}' allows plain HTTP`]
      : []),
  ]);

export const functionAppIsFlexNode22AndLockedDown: Rule = (files) => {
  const sites = declared(files, "Microsoft.Web/sites");
  const plans = declared(files, "Microsoft.Web/serverfarms");
  const findings = sites.flatMap((r) => [
    ...expectLiteral(r, true, "properties", "httpsOnly"),
    ...expectLiteral(r, "1.2", "properties", "siteConfig", "minTlsVersion"),
    ...expectLiteral(r, "Disabled", "properties", "siteConfig", "ftpsState"),
    ...expectLiteral(r, "node", "properties", "functionAppConfig", "runtime", "name"),
    ...expectLiteral(r, "22", "properties", "functionAppConfig", "runtime", "version"),
    ...expectLiteral(
      r,
      "UserAssignedIdentity",
      "properties",
      "functionAppConfig",
      "deployment",
      "storage",
      "authentication",
      "type",
    ),
    ...expectLiteral(r, "UserAssigned", "identity", "type"),
  ]);
  findings.push(
    ...plans.flatMap((r) => [
      ...expectLiteral(r, "FC1", "sku", "name"),
      ...expectLiteral(r, "FlexConsumption", "sku", "tier"),
    ]),
  );
  const policies = declared(files, "Microsoft.Web/sites/basicPublishingCredentialsPolicies");
  if (sites.length > 0) {
    for (const kind of ["ftp", "scm"]) {
      const policy = policies.find((p) => literal(property(p.body, "name")) === kind);
      if (policy === undefined || literal(property(policy.body, "properties", "allow")) !== false) {
        findings.push(`${sites[0]?.file ?? ""}: basic publishing credentials '${kind}' must be allow: false`);
      }
    }
  }
  // The broker validates tokens itself; App Service authentication would sit in front of it.
  for (const r of declared(files, "Microsoft.Web/sites/config")) {
    if (String(literal(property(r.body, "name"))).toLowerCase() === "authsettingsv2") {
      findings.push(`${r.file}: '${r.symbol}' configures built-in authentication (authsettingsV2)`);
    }
  }
  return findings;
};

/** App settings of the function app: a `sites/config` named `appsettings`, or `siteConfig.appSettings`. */
export function appSettings(files: readonly BicepFile[]): Map<string, Node> {
  const settings = new Map<string, Node>();
  for (const r of declared(files, "Microsoft.Web/sites/config")) {
    if (literal(property(r.body, "name")) !== "appsettings") continue;
    for (const [name, value] of objectEntries(property(r.body, "properties"))) settings.set(name, value);
  }
  for (const r of declared(files, "Microsoft.Web/sites")) {
    const list = property(r.body, "properties", "siteConfig", "appSettings");
    for (const item of arrayItems(list)) {
      const name = literal(property(item, "name"));
      const value = property(item, "value");
      if (typeof name === "string" && value !== undefined) settings.set(name, value);
    }
  }
  return settings;
}

export const hostStorageByIdentity: Rule = (files) => {
  if (declared(files, "Microsoft.Web/sites").length === 0) return [];
  const settings = appSettings(files);
  const findings: string[] = [];
  if (settings.has("AzureWebJobsStorage")) {
    findings.push(
      "app settings: AzureWebJobsStorage is a connection string; use AzureWebJobsStorage__accountName",
    );
  }
  for (const name of ["AzureWebJobsStorage__accountName", "AzureWebJobsStorage__clientId"]) {
    if (!settings.has(name)) findings.push(`app settings: ${name} is missing`);
  }
  if (literal(settings.get("AzureWebJobsStorage__credential")) !== "managedidentity") {
    findings.push("app settings: AzureWebJobsStorage__credential must be 'managedidentity'");
  }
  for (const [name, value] of settings) {
    if (/AccountKey=|SharedAccessSignature=|sig=/i.test(value.text)) {
      findings.push(`app settings: ${name} carries a storage key or SAS`);
    }
  }
  return findings;
};

export const telemetryByIdentity: Rule = (files) => {
  const findings = declared(files, "Microsoft.Insights/components").flatMap((r) =>
    expectLiteral(r, true, "properties", "DisableLocalAuth"),
  );
  if (declared(files, "Microsoft.Web/sites").length > 0) {
    const auth = appSettings(files).get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING");
    if (auth === undefined || !auth.text.includes("Authorization=AAD;ClientId=")) {
      findings.push(
        "app settings: APPLICATIONINSIGHTS_AUTHENTICATION_STRING must be Authorization=AAD;ClientId=…",
      );
    }
  }
  return findings;
};

export const roleAssignmentsAreDeterministic: Rule = (files) =>
  declared(files, "Microsoft.Authorization/roleAssignments").flatMap((r) => {
    const name = property(r.body, "name");
    const isGuid = name?.type === "call_expression" && name.namedChildren[0]?.text === "guid";
    return [
      ...(isGuid ? [] : [`${r.file}: role assignment '${r.symbol}' must be named with guid(…)`]),
      ...(property(r.body, "properties", "principalId") === undefined
        ? [`${r.file}: role assignment '${r.symbol}' names no principalId`]
        : []),
    ];
  });

const SECRET_NAME = /secret|password|passwd|token|connectionstring|accesskey|sas|webhook|credential/i;

function securedParams(file: BicepFile): Set<string> {
  return new Set(
    params(file.root)
      .filter((p) => p.decorators.has("secure"))
      .map((p) => p.name),
  );
}

export const paramsAreDescribedAndSecretsHaveNoDefaults: Rule = (files) =>
  files.flatMap((f) =>
    params(f.root).flatMap((p) => {
      const findings: string[] = [];
      if (!p.decorators.has("description")) findings.push(`${f.name}: param ${p.name} has no @description`);
      const secure = p.decorators.has("secure");
      if (SECRET_NAME.test(p.name) && !secure)
        findings.push(`${f.name}: param ${p.name} looks secret but is not @secure`);
      // An empty default only keeps azd from prompting for an optional secret; it holds nothing.
      if (
        (secure || SECRET_NAME.test(p.name)) &&
        p.defaultValue !== undefined &&
        literal(p.defaultValue) !== ""
      ) {
        findings.push(`${f.name}: secret param ${p.name} has a default`);
      }
      return findings;
    }),
  );

export const outputsCarryNoSecrets: Rule = (files) =>
  files.flatMap((f) => {
    const secured = securedParams(f);
    return outputs(f.root).flatMap((o) => {
      const findings: string[] = [];
      if (o.decorators.has("secure")) findings.push(`${f.name}: output ${o.name} is @secure`);
      if (SECRET_NAME.test(o.name)) findings.push(`${f.name}: output ${o.name} is named like a secret`);
      if (o.value !== undefined) {
        if (calls(o.value).some((c) => /^list/i.test(c.name))) {
          findings.push(`${f.name}: output ${o.name} reads keys`);
        }
        for (const id of identifiersIn(o.value)) {
          if (secured.has(id)) findings.push(`${f.name}: output ${o.name} returns @secure param ${id}`);
        }
        if (/ConnectionString|InstrumentationKey/i.test(o.value.text)) {
          findings.push(`${f.name}: output ${o.name} returns a connection string`);
        }
      }
      return findings;
    });
  });

export const postureRules: Record<string, Rule> = {
  parsesCleanly,
  keyVaultIsRbacOnlyAndRecoverable,
  noKeyListing,
  storageIsKeylessAndPrivate,
  functionAppIsFlexNode22AndLockedDown,
  hostStorageByIdentity,
  telemetryByIdentity,
  roleAssignmentsAreDeterministic,
  paramsAreDescribedAndSecretsHaveNoDefaults,
  outputsCarryNoSecrets,
};

export function postureFindings(files: readonly BicepFile[]): string[] {
  return Object.values(postureRules).flatMap((rule) => rule(files));
}
