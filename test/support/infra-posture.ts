import {
  arrayItems,
  type BicepFile,
  type Node,
  type Resource,
  calls,
  identifiersIn,
  literal,
  modules,
  objectEntries,
  outputs,
  params,
  property,
  resources,
  syntaxProblems,
  variables,
} from "./bicep.js";
import { builtInRoleName } from "./infra-posture-roles.js";

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

/**
 * What Flex Consumption refuses or ignores: the "Flex Consumption plan deprecations" table of the
 * Azure Functions app settings reference
 * (https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations).
 * Site properties: ARM refuses them outright ("The following site configuration property
 * (Site.SiteConfig.FtpsState) for Flex Consumption sites is invalid", the error issue 14 quotes);
 * runtime, scale and instance size live in functionAppConfig instead.
 */
export const FLEX_REFUSED_SITE_CONFIG = [
  "alwaysOn",
  "ftpsState",
  "functionAppScaleLimit",
  "javaVersion",
  "linuxFxVersion",
  "netFrameworkVersion",
  "powerShellVersion",
  "preWarmedInstanceCount",
  "use32BitWorkerProcess",
  "windowsFxVersion",
] as const;
export const FLEX_REFUSED_SITE_PROPERTIES = ["containerSize"] as const;
/**
 * App settings Flex Consumption does not take: the list the Azure CLI's own Consumption-to-Flex
 * migration leaves out (azure-cli, command_modules/appservice/custom.py, _migrate_app_settings,
 * `excluded_settings`; the same list as the jq filter of Microsoft's migration guide,
 * articles/azure-functions/migration/migrate-plan-consumption-to-flex.md), less the two it leaves
 * out only because it sets them itself (APPLICATIONINSIGHTS_CONNECTION_STRING, AzureWebJobsDashboard).
 */
export const FLEX_REFUSED_APP_SETTINGS = [
  "ENABLE_ORYX_BUILD",
  "FUNCTIONS_EXTENSION_VERSION",
  "FUNCTIONS_MAX_HTTP_CONCURRENCY",
  "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
  "FUNCTIONS_WORKER_PROCESS_COUNT",
  "FUNCTIONS_WORKER_RUNTIME",
  "FUNCTIONS_WORKER_RUNTIME_VERSION",
  "SCM_DO_BUILD_DURING_DEPLOYMENT",
  "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
  "WEBSITE_CONTENTOVERVNET",
  "WEBSITE_CONTENTSHARE",
  "WEBSITE_DNS_SERVER",
  "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
  "WEBSITE_MOUNT_ENABLED",
  "WEBSITE_NODE_DEFAULT_VERSION",
  "WEBSITE_RUN_FROM_PACKAGE",
  "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
  "WEBSITE_USE_PLACEHOLDER_DOTNETISOLATED",
  "WEBSITE_VNET_ROUTE_ALL",
] as const;

/** Every key written in an object tree, at any depth (`a.b.c` paths are not needed here). */
function keysAnywhere(node: Node | undefined): string[] {
  if (node === undefined) return [];
  if (node.type === "array") return arrayItems(node).flatMap(keysAnywhere);
  if (node.type !== "object") return [];
  return objectEntries(node).flatMap(([key, value]) => [key, ...keysAnywhere(value)]);
}

export const flexRefusesNothingHere: Rule = (files) => {
  const sites = declared(files, "Microsoft.Web/sites");
  if (sites.length === 0) return [];
  const findings: string[] = [];
  const refusedConfig = new Set<string>(FLEX_REFUSED_SITE_CONFIG.map((k) => k.toLowerCase()));
  const refusedProperties = new Set<string>(FLEX_REFUSED_SITE_PROPERTIES.map((k) => k.toLowerCase()));
  for (const r of sites) {
    for (const key of keysAnywhere(property(r.body, "properties", "siteConfig"))) {
      if (refusedConfig.has(key.toLowerCase())) {
        findings.push(`${r.file}: '${r.symbol}' sets siteConfig.${key}, which Flex Consumption refuses`);
      }
    }
    for (const [key] of objectEntries(property(r.body, "properties"))) {
      if (refusedProperties.has(key.toLowerCase())) {
        findings.push(`${r.file}: '${r.symbol}' sets properties.${key}, which Flex Consumption refuses`);
      }
    }
  }
  // The same properties through a sites/config 'web' resource.
  for (const r of declared(files, "Microsoft.Web/sites/config")) {
    if (String(literal(property(r.body, "name"))).toLowerCase() !== "web") continue;
    for (const key of keysAnywhere(property(r.body, "properties"))) {
      if (refusedConfig.has(key.toLowerCase())) {
        findings.push(`${r.file}: '${r.symbol}' sets ${key}, which Flex Consumption refuses`);
      }
    }
  }
  const refusedSettings = new Set<string>(FLEX_REFUSED_APP_SETTINGS.map((k) => k.toLowerCase()));
  for (const name of appSettings(files).keys()) {
    if (refusedSettings.has(name.toLowerCase())) {
      findings.push(`app settings: ${name} is refused on Flex Consumption (see functionAppConfig)`);
    }
  }
  return findings;
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface RoleGrant {
  file: string;
  symbol: string;
  /** The role ids granted; one per loop item for `[for role in roles: …]`. */
  roleIds: string[];
  /** The principalId expression as written. */
  principal: string;
}

/** The role ids of every role assignment, looking through same-file vars and for loops over them. */
export function roleGrants(files: readonly BicepFile[]): RoleGrant[] {
  return files.flatMap((f) => {
    const vars = variables(f.root);
    const resolve = (node: Node | undefined): Node | undefined =>
      node?.type === "identifier" ? (vars.get(node.text) ?? node) : node;
    return declared([f], "Microsoft.Authorization/roleAssignments").map((r) => {
      const definition = property(r.body, "properties", "roleDefinitionId");
      // subscriptionResourceId('Microsoft.Authorization/roleDefinitions', <role id>)
      const args = definition?.type === "call_expression" ? arrayLike(definition.namedChildren[1]) : [];
      const roleArg = args.at(-1);
      const loop = resolve(r.loopOver);
      const roleIds =
        roleArg?.type === "identifier" && loop?.type === "array" && !vars.has(roleArg.text)
          ? arrayItems(loop).map((item) => String(literal(item)))
          : [String(literal(resolve(roleArg)))];
      return {
        file: f.name,
        symbol: r.symbol,
        roleIds,
        principal: property(r.body, "properties", "principalId")?.text ?? "",
      };
    });
  });
}

function arrayLike(args: Node | null | undefined): Node[] {
  return args?.namedChildren.filter((n) => n.type !== "comment") ?? [];
}

/** Every role id granted, and every GUID written anywhere in the Bicep, is a real built-in role. */
export const roleIdsAreBuiltIn: Rule = (files) => {
  const findings: string[] = [];
  for (const grant of roleGrants(files)) {
    for (const id of grant.roleIds) {
      if (!GUID.test(id)) {
        findings.push(`${grant.file}: role assignment '${grant.symbol}' grants no literal role id (${id})`);
      } else if (builtInRoleName(id) === undefined) {
        findings.push(
          `${grant.file}: role assignment '${grant.symbol}' grants ${id}, not a built-in role id`,
        );
      }
    }
  }
  for (const f of files) {
    for (const s of f.root.descendantsOfType("string")) {
      const value = literal(s);
      if (typeof value === "string" && GUID.test(value) && builtInRoleName(value) === undefined) {
        findings.push(`${f.name}: ${value} at line ${s.startPosition.row + 1} is not a built-in role id`);
      }
    }
  }
  return findings;
};

/** The identifier a module output is read from: `x` in `x.outputs.clientId`. */
function moduleSymbolOf(node: Node | undefined): string | undefined {
  let current = node;
  while (current?.type === "member_expression") current = current.namedChildren[0];
  return current?.type === "identifier" ? current.text : undefined;
}

/** The keys of the object properties that enclose a node, innermost first. */
function enclosingKeys(node: Node): string[] {
  const keys: string[] = [];
  for (let p = node.parent; p !== null; p = p.parent) {
    if (p.type !== "object_property") continue;
    const key = p.namedChildren[0];
    if (key === undefined) continue;
    const name = key.type === "string" ? literal(key) : key.text;
    if (typeof name === "string") keys.push(name);
  }
  return keys;
}

const MINTING_PARAMS = ["mintingIdentityId", "mintingIdentityClientId"];

/**
 * The minting identity (BROKER_MINTING_CLIENT_ID) is what callers' tokens are minted as, so it
 * must hold none of the broker's own power: main.bicep hands it to the Function App module only,
 * as those two params, and the app uses them only to attach the identity and to name it in
 * BROKER_MINTING_CLIENT_ID. No role assignment, Key Vault reference, storage or telemetry auth.
 */
export const mintingIdentityHoldsNoRoles: Rule = (files) => {
  const main = files.find((f) => f.name === "main.bicep");
  if (main === undefined) return [];
  const mods = modules(main.root);
  const app = mods.find((m) => property(m.body, "params", "mintingIdentityClientId") !== undefined);
  if (app === undefined)
    return ["main.bicep: no module is given mintingIdentityClientId (the minting identity)"];
  const findings: string[] = [];
  const minting = moduleSymbolOf(property(app.body, "params", "mintingIdentityClientId"));
  const control = moduleSymbolOf(property(app.body, "params", "identityClientId"));
  if (minting === undefined) return ["main.bicep: mintingIdentityClientId is not a module output"];
  if (minting === control)
    findings.push(`main.bicep: the minting identity is the control identity (${minting})`);
  for (const m of mods) {
    if (m === app) continue;
    if (m.body !== undefined && identifiersIn(m.body).has(minting)) {
      findings.push(`main.bicep: module '${m.symbol}' is given the minting identity ${minting}`);
    }
  }
  for (const r of resources(main.root)) {
    if (r.body !== undefined && identifiersIn(r.body).has(minting)) {
      findings.push(`main.bicep: resource '${r.symbol}' reads the minting identity ${minting}`);
    }
  }
  for (const [name, value] of objectEntries(property(app.body, "params"))) {
    if (!MINTING_PARAMS.includes(name) && identifiersIn(value).has(minting)) {
      findings.push(`main.bicep: '${app.symbol}' gets the minting identity as ${name}`);
    }
  }
  const appFile = files.find((f) => f.name === app.path);
  for (const id of appFile?.root.descendantsOfType("identifier") ?? []) {
    if (!MINTING_PARAMS.includes(id.text) || id.parent?.type === "parameter_declaration") continue;
    const keys = enclosingKeys(id);
    if (!keys.includes("userAssignedIdentities") && keys[0] !== "BROKER_MINTING_CLIENT_ID") {
      findings.push(
        `${app.path}: ${id.text} is used at line ${id.startPosition.row + 1} (${keys.join(" < ") || "top level"}); only the identity list and BROKER_MINTING_CLIENT_ID may use it`,
      );
    }
  }
  if (
    appFile !== undefined &&
    appSettings([appFile]).get("BROKER_MINTING_CLIENT_ID")?.text !== "mintingIdentityClientId"
  ) {
    findings.push(`${app.path}: BROKER_MINTING_CLIENT_ID must be mintingIdentityClientId`);
  }
  for (const grant of roleGrants(files)) {
    if (/minting/i.test(grant.principal)) {
      findings.push(`${grant.file}: role assignment '${grant.symbol}' is for the minting identity`);
    }
  }
  return findings;
};

/** Private DNS zones of the private endpoints privateNetworking deploys (public cloud). */
export const PRIVATE_LINKS: Record<string, string> = {
  vault: "privatelink.vaultcore.azure.net",
  blob: "privatelink.blob.core.windows.net",
  table: "privatelink.table.core.windows.net",
};

function declaresType(file: BicepFile | undefined, type: string): boolean {
  return file !== undefined && declared([file], type).length > 0;
}

/**
 * privateNetworking (default off) deploys it all or nothing: VNet integration of the Function App
 * on a subnet delegated to Microsoft.App/environments, private endpoints with their private DNS
 * zones for the vault and the storage sub-resources the host uses, and publicNetworkAccess
 * 'Disabled' (default action Deny) on the vault and the storage account when it is on.
 */
export const privateNetworkingIsComplete: Rule = (files) => {
  const main = files.find((f) => f.name === "main.bicep");
  if (main === undefined) return [];
  const findings: string[] = [];
  const toggle = params(main.root).find((p) => p.name === "privateNetworking");
  if (toggle === undefined) return ["main.bicep: no privateNetworking parameter"];
  if (literal(toggle.defaultValue) !== false)
    findings.push("main.bicep: privateNetworking must default to false");
  const onlyWhenPrivate = (node: Node | undefined, whenOn?: string) =>
    node?.type === "ternary_expression" &&
    node.childForFieldName("condition")?.text === "privateNetworking" &&
    (whenOn === undefined || literal(node.childForFieldName("consequence") ?? undefined) === whenOn);

  for (const m of modules(main.root)) {
    const file = files.find((f) => f.name === m.path);
    if (file === undefined) continue;
    for (const type of ["Microsoft.KeyVault/vaults", "Microsoft.Storage/storageAccounts"]) {
      if (!declaresType(file, type)) continue;
      if (!onlyWhenPrivate(property(m.body, "params", "publicNetworkAccess"), "Disabled")) {
        findings.push(
          `main.bicep: '${m.symbol}' needs publicNetworkAccess: privateNetworking ? 'Disabled' : …`,
        );
      }
      for (const r of declared([file], type)) {
        if (property(r.body, "properties", "publicNetworkAccess")?.text !== "publicNetworkAccess") {
          findings.push(`${file.name}: '${r.symbol}' must take publicNetworkAccess from its parameter`);
        }
        if (!property(r.body, "properties", "networkAcls", "defaultAction")?.text.includes("'Deny'")) {
          findings.push(`${file.name}: '${r.symbol}' needs networkAcls.defaultAction 'Deny' when private`);
        }
      }
    }
    if (declaresType(file, "Microsoft.Web/sites")) {
      if (!onlyWhenPrivate(property(m.body, "params", "virtualNetworkSubnetId"))) {
        findings.push(`main.bicep: '${m.symbol}' needs virtualNetworkSubnetId: privateNetworking ? … : ''`);
      }
      for (const r of declared([file], "Microsoft.Web/sites")) {
        if (
          !property(r.body, "properties", "virtualNetworkSubnetId")?.text.includes("virtualNetworkSubnetId")
        ) {
          findings.push(
            `${file.name}: '${r.symbol}' needs properties.virtualNetworkSubnetId from its parameter`,
          );
        }
      }
    }
  }

  const networkModule = main.root.namedChildren.find(
    (n) =>
      n.type === "module_declaration" &&
      declaresType(
        files.find((f) => f.name === literal(n.namedChildren[1])),
        "Microsoft.Network/virtualNetworks",
      ),
  );
  const deployedIf = networkModule?.namedChildren.at(-1);
  if (deployedIf?.type !== "if_statement" || !/^if\s*\(\s*privateNetworking\s*\)/.test(deployedIf.text)) {
    findings.push("main.bicep: the network module must be deployed if (privateNetworking)");
  }

  const delegated = files.some((f) =>
    declared([f], "Microsoft.Network/virtualNetworks").some((r) =>
      arrayItems(property(r.body, "properties", "subnets")).some((subnet) =>
        arrayItems(property(subnet, "properties", "delegations")).some(
          (d) => literal(property(d, "properties", "serviceName")) === "Microsoft.App/environments",
        ),
      ),
    ),
  );
  if (!delegated)
    findings.push("network: no subnet delegated to Microsoft.App/environments (Flex VNet integration)");

  // (groupId, zone) pairs given to the private-endpoint module.
  const links = new Map<string, string>();
  for (const f of files) {
    for (const m of modules(f.root)) {
      const groupId = literal(property(m.body, "params", "groupId"));
      const zone = literal(property(m.body, "params", "zoneName"));
      if (typeof groupId === "string" && typeof zone === "string") links.set(groupId, zone);
    }
  }
  for (const [groupId, zone] of Object.entries(PRIVATE_LINKS)) {
    if (links.get(groupId) !== zone)
      findings.push(`network: no private endpoint '${groupId}' with zone ${zone}`);
  }
  for (const type of [
    "Microsoft.Network/privateEndpoints",
    "Microsoft.Network/privateDnsZones",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
  ]) {
    if (!files.some((f) => declaresType(f, type))) findings.push(`network: no ${type} declared`);
  }
  return findings;
};

export const postureRules: Record<string, Rule> = {
  parsesCleanly,
  keyVaultIsRbacOnlyAndRecoverable,
  noKeyListing,
  storageIsKeylessAndPrivate,
  functionAppIsFlexNode22AndLockedDown,
  hostStorageByIdentity,
  telemetryByIdentity,
  roleAssignmentsAreDeterministic,
  roleIdsAreBuiltIn,
  flexRefusesNothingHere,
  mintingIdentityHoldsNoRoles,
  privateNetworkingIsComplete,
  paramsAreDescribedAndSecretsHaveNoDefaults,
  outputsCarryNoSecrets,
};

export function postureFindings(files: readonly BicepFile[]): string[] {
  return Object.values(postureRules).flatMap((rule) => rule(files));
}
