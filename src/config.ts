import { settingsSchema, withoutBlanks, type Settings, type TrustedIssuerSetting } from "./app-settings.js";
import type { RateLimit } from "./limits/rate-limit.js";
import { isAllowedFetchUrl } from "./net/loopback.js";
import { ConfigError } from "./config-error.js";
import { probeOf, type ProbeSettings } from "./probes/probe-settings.js";
import type { TelemetrySettings } from "./telemetry/start.js";
import { telemetryOf } from "./telemetry/telemetry-settings.js";

export { loadTelemetrySettings } from "./telemetry/telemetry-settings.js";
export type { ProbeSettings } from "./probes/probe-settings.js";

/**
 * Environment -> typed configuration, parsed once at start. A bad or missing setting stops the
 * start with a message that names the setting and never echoes its value (settings can hold URLs
 * with keys in them, e.g. a Teams workflow URL).
 */

export { SETTING_NAMES, type TrustedIssuerSetting } from "./app-settings.js";

export type LeaseStorageSetting =
  { kind: "service-url"; url: string } | { kind: "connection-string"; connectionString: string };

export interface BrokerConfig {
  port: number;
  keyVaultUrl: string;
  tenantId: string;
  audiences: string[];
  trustedIssuers: TrustedIssuerSetting[];
  policyFile: string;
  /** The control identity (AZURE_CLIENT_ID): vault, storage, Graph. Never mints for callers. */
  managedIdentityClientId: string | undefined;
  /** The minting identity (BROKER_MINTING_CLIENT_ID) of managed-identity profiles without a clientId. */
  mintingClientId: string | undefined;
  authorityHost: string;
  /** Set: the v1 issuer to accept instead of the one the authority host's cloud implies. */
  entraV1Issuer: string | undefined;
  rotationSchedule: string;
  noticeSchedule: string;
  /** Notice thresholds in days, largest first. */
  noticeDays: number[];
  rotateBeforeDays: number;
  revokeGraceMinutes: number;
  /** How long a new client secret Entra still refuses is kept (pending verification) before it is removed. */
  secretVerifyMinutes: number;
  /** Azure DevOps organizations host (connectionData, git), e.g. https://dev.azure.com. */
  devopsUrl: string;
  /** Azure DevOps identity host of the PAT Lifecycle API, e.g. https://vssps.dev.azure.com. */
  devopsVsspsUrl: string;
  graphUrl: string;
  noticeWebhookUrl: string | undefined;
  noticeTeamsUrl: string | undefined;
  /** A page on what to do about an expiring credential: the Teams card's button. */
  noticeRunbookUrl: string | undefined;
  /** Unset: leases are per process only (dev without storage). */
  leaseStorage: LeaseStorageSetting | undefined;
  /** Per instance, per verified caller: `caller` on POST /api/token, `admin` on write routes; undefined: none. */
  rateLimits: { caller: RateLimit | undefined; admin: RateLimit | undefined };
  /** BROKER_DEV_STACK=true: plain http:// and loopback targets are allowed (the emulators). */
  devStack: boolean;
  /** Where metrics go (none, Application Insights, OTLP). */
  telemetry: TelemetrySettings;
  /** The prober; undefined = off (no BROKER_PROBE_SCHEDULE). */
  probe: ProbeSettings | undefined;
}

export { ConfigError } from "./config-error.js";

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env): BrokerConfig {
  const present = withoutBlanks(env);
  const result = settingsSchema.safeParse(present);
  if (!result.success) {
    // Name the setting and the rule only: zod messages here never contain the input value.
    const lines = result.error.issues.map((issue) => {
      const [setting, ...rest] = issue.path;
      const where = rest.length > 0 ? ` (at ${rest.join(".")})` : "";
      const what = typeof setting === "string" && !(setting in present) ? "is required" : issue.message;
      return `${String(setting)}${where}: ${what}`;
    });
    if (!("KEY_VAULT_URL" in present)) lines.unshift("KEY_VAULT_URL: is required");
    throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const s = result.data;
  if (s.KEY_VAULT_URL === undefined) {
    throw new ConfigError("invalid configuration:\n  KEY_VAULT_URL: is required");
  }
  if (s.BROKER_ROTATE_BEFORE_DAYS <= Math.max(...s.BROKER_NOTICE_DAYS)) {
    throw new ConfigError(
      "invalid configuration:\n  BROKER_ROTATE_BEFORE_DAYS: must be greater than the largest BROKER_NOTICE_DAYS, so rotation starts before owners are warned",
    );
  }
  if (
    s.BROKER_MINTING_CLIENT_ID !== undefined &&
    s.BROKER_MINTING_CLIENT_ID.toLowerCase() === s.AZURE_CLIENT_ID?.toLowerCase()
  ) {
    throw new ConfigError(
      "invalid configuration:\n  BROKER_MINTING_CLIENT_ID: must differ from AZURE_CLIENT_ID: the control identity never mints for callers",
    );
  }
  const tenantId = s.BROKER_TENANT_ID.toLowerCase();
  const entraV1Issuer = v1IssuerOf(s.BROKER_ENTRA_V1_ISSUER, tenantId);
  const devStack = s.BROKER_DEV_STACK === "true";
  if (devStack && s.WEBSITE_INSTANCE_ID !== undefined) {
    throw new ConfigError(
      "invalid configuration:\n  BROKER_DEV_STACK: must not be set in Azure (WEBSITE_INSTANCE_ID is set): it allows plain http and loopback targets",
    );
  }
  if (!devStack) {
    const issues = outboundUrlIssues(s);
    if (issues.length > 0) throw new ConfigError(`invalid configuration:\n  ${issues.join("\n  ")}`);
  }
  const probe = probeOf(s);
  const leaseStorage = leaseStorageOf(s);
  if (leaseStorage === undefined && s.WEBSITE_INSTANCE_ID !== undefined) {
    // Several instances with per-process leases would rotate one credential twice.
    throw new ConfigError(
      "invalid configuration:\n  BROKER_LEASE_STORAGE_URL: is required in Azure (or AzureWebJobsStorage__accountName / __blobServiceUri)",
    );
  }
  return {
    port: s.PORT,
    keyVaultUrl: s.KEY_VAULT_URL.replace(/\/+$/, ""),
    tenantId,
    audiences: s.BROKER_AUDIENCE,
    trustedIssuers: s.BROKER_TRUSTED_ISSUERS,
    policyFile: s.BROKER_POLICY_FILE,
    managedIdentityClientId: s.AZURE_CLIENT_ID?.toLowerCase(),
    mintingClientId: s.BROKER_MINTING_CLIENT_ID?.toLowerCase(),
    authorityHost: s.AZURE_AUTHORITY_HOST.replace(/\/+$/, ""),
    entraV1Issuer,
    rotationSchedule: s.BROKER_ROTATION_SCHEDULE,
    noticeSchedule: s.BROKER_NOTICE_SCHEDULE,
    noticeDays: s.BROKER_NOTICE_DAYS,
    rotateBeforeDays: s.BROKER_ROTATE_BEFORE_DAYS,
    revokeGraceMinutes: s.BROKER_REVOKE_GRACE_MINUTES,
    secretVerifyMinutes: s.BROKER_SECRET_VERIFY_MINUTES,
    devopsUrl: s.BROKER_DEVOPS_URL.replace(/\/+$/, ""),
    devopsVsspsUrl: s.BROKER_DEVOPS_VSSPS_URL.replace(/\/+$/, ""),
    graphUrl: s.BROKER_GRAPH_URL.replace(/\/+$/, ""),
    noticeWebhookUrl: s.BROKER_NOTICE_WEBHOOK_URL,
    noticeTeamsUrl: s.BROKER_NOTICE_TEAMS_URL,
    noticeRunbookUrl: s.BROKER_NOTICE_RUNBOOK_URL,
    leaseStorage,
    rateLimits: rateLimitsOf(s, present),
    devStack,
    telemetry: telemetryOf(s),
    probe,
  };
}

/** An admin limit set (`off` included) is its own; unset, admins get the callers' limit. */
function rateLimitsOf(s: Settings, present: Record<string, string>): BrokerConfig["rateLimits"] {
  const caller = s.BROKER_RATE_LIMIT;
  const admin = "BROKER_ADMIN_RATE_LIMIT" in present ? s.BROKER_ADMIN_RATE_LIMIT : caller;
  return { caller, admin };
}

/** A v1 issuer is `https://{host}/{tenant}/`: exactly the tenant's, so no other tenant's tokens pass. */
function v1IssuerOf(setting: string | undefined, tenantId: string): string | undefined {
  if (setting === undefined) return undefined;
  const url = new URL(setting);
  if (
    url.pathname.toLowerCase() !== `/${tenantId}/` ||
    url.search !== "" ||
    url.hash !== "" ||
    url.username !== ""
  ) {
    throw new ConfigError(
      "invalid configuration:\n  BROKER_ENTRA_V1_ISSUER: must be https://{host}/{BROKER_TENANT_ID}/ (the tenant's v1 issuer)",
    );
  }
  return `${url.origin}/${tenantId}/`;
}

/** Outside the dev stack every outbound URL is https to a non-loopback host: the settings that break it. */
function outboundUrlIssues(s: Settings): string[] {
  const rule =
    "must be https to a non-loopback host (plain http and loopback only with BROKER_DEV_STACK=true)";
  const urls: [string, string | undefined][] = [
    ["KEY_VAULT_URL", s.KEY_VAULT_URL],
    ["AZURE_AUTHORITY_HOST", s.AZURE_AUTHORITY_HOST],
    ["BROKER_DEVOPS_URL", s.BROKER_DEVOPS_URL],
    ["BROKER_DEVOPS_VSSPS_URL", s.BROKER_DEVOPS_VSSPS_URL],
    ["BROKER_GRAPH_URL", s.BROKER_GRAPH_URL],
    ["BROKER_NOTICE_WEBHOOK_URL", s.BROKER_NOTICE_WEBHOOK_URL],
    ["BROKER_NOTICE_TEAMS_URL", s.BROKER_NOTICE_TEAMS_URL],
    ["BROKER_LEASE_STORAGE_URL", s.BROKER_LEASE_STORAGE_URL],
    ["BROKER_PROBE_URL", s.BROKER_PROBE_URL],
    ["AzureWebJobsStorage__blobServiceUri", s.AzureWebJobsStorage__blobServiceUri],
  ];
  s.BROKER_TRUSTED_ISSUERS.forEach((t, i) => {
    urls.push([`BROKER_TRUSTED_ISSUERS (at ${i}.issuer)`, t.issuer]);
    urls.push([`BROKER_TRUSTED_ISSUERS (at ${i}.jwksUri)`, t.jwksUri]);
  });
  const issues = urls.flatMap(([name, url]) =>
    url !== undefined && !isAllowedFetchUrl(url, false) ? [`${name}: ${rule}`] : [],
  );
  const conn = s.AzureWebJobsStorage;
  if (conn !== undefined) {
    // The emulator's shortcut or a plain-http endpoint: the dev stack's Azurite, never Azure storage.
    const endpoint = /(?:^|;)\s*BlobEndpoint=([^;]*)/i.exec(conn)?.[1]?.trim();
    if (
      /(^|;)\s*UseDevelopmentStorage=true\s*(;|$)/i.test(conn) ||
      /(^|;)\s*DefaultEndpointsProtocol=http\s*(;|$)/i.test(conn) ||
      (endpoint !== undefined && !isAllowedFetchUrl(endpoint, false))
    ) {
      issues.push(`AzureWebJobsStorage: ${rule}`);
    }
  }
  return issues;
}

function leaseStorageOf(s: {
  BROKER_LEASE_STORAGE_URL?: string | undefined;
  AzureWebJobsStorage__blobServiceUri?: string | undefined;
  AzureWebJobsStorage__accountName?: string | undefined;
  AzureWebJobsStorage?: string | undefined;
}): LeaseStorageSetting | undefined {
  const url =
    s.BROKER_LEASE_STORAGE_URL ??
    s.AzureWebJobsStorage__blobServiceUri ??
    (s.AzureWebJobsStorage__accountName !== undefined
      ? `https://${s.AzureWebJobsStorage__accountName}.blob.core.windows.net`
      : undefined);
  if (url !== undefined) return { kind: "service-url", url: url.replace(/\/+$/, "") };
  if (s.AzureWebJobsStorage !== undefined) {
    return { kind: "connection-string", connectionString: s.AzureWebJobsStorage };
  }
  return undefined;
}
