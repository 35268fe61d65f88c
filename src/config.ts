import { Cron } from "croner";
import { z } from "zod";
import { isAllowedFetchUrl, isLoopbackUrl } from "./net/loopback.js";

/**
 * Environment -> typed configuration, parsed once at start. A bad or missing setting stops the
 * start with a message that names the setting and never echoes its value (settings can hold URLs
 * with keys in them, e.g. a Teams workflow URL).
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** NCRONTAB as the Functions host reads it: six fields, seconds first, each field in range. */
function isNcrontab(expression: string): boolean {
  if (!/^\S+(\s+\S+){5}$/.test(expression.trim())) return false;
  try {
    new Cron(expression, { mode: "6-part", paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}
const ncrontab = (fallback: string) =>
  z.string().refine(isNcrontab, "must be a six-field NCRONTAB expression").default(fallback);

/** The shape every outbound URL must have; where it runs narrows it further (outboundUrlIssues). */
const httpsOrLoopback = z
  .url({ protocol: /^https?$/ })
  .refine((u) => u.startsWith("https://") || isLoopbackUrl(u), "must use https (http only for loopback)");

const trustedIssuer = z.strictObject({
  issuer: httpsOrLoopback,
  jwksUri: httpsOrLoopback.optional(),
  audiences: z.array(z.string().min(1)).min(1).optional(),
});
export type TrustedIssuerSetting = z.infer<typeof trustedIssuer>;

const jsonText = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, ctx): z.output<T> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: "custom", message: "is not valid JSON" });
      return z.NEVER;
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      for (const issue of result.error.issues) {
        ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
      }
      return z.NEVER;
    }
    return result.data;
  });

const intSetting = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const commaList = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p !== ""),
  )
  .pipe(z.array(z.string()).min(1, "must name at least one value"));

/** Lead times in days, e.g. `7,1`: each threshold warns once per secret version. Largest first. */
const noticeDaysList = z
  .string()
  .transform((s) => s.split(",").map((p) => p.trim()))
  .pipe(
    z
      .array(z.string().regex(/^\d{1,3}$/, "must be whole numbers of days, comma-separated"))
      .min(1)
      .max(5, "takes at most five thresholds"),
  )
  .transform((days) => [...new Set(days.map(Number))].sort((a, b) => b - a))
  .pipe(z.array(z.number().int().min(1, "each threshold must be 1-365 days").max(365)));

/**
 * Where the cross-instance lease lives: a blob service URL reached with the broker's identity,
 * or the Functions storage connection string (a secret: parsed, never echoed).
 */
const connectionString = z
  .string()
  .refine(
    (s) => /(^|;)\s*UseDevelopmentStorage=true\s*(;|$)/i.test(s) || /(^|;)\s*AccountName=/i.test(s),
    "must be a storage connection string",
  );

const settingsSchema = z.object({
  PORT: intSetting(0, 65535).default(7071),
  KEY_VAULT_URL: z.url({ protocol: /^https$/ }).optional(),
  BROKER_TENANT_ID: z.string().regex(GUID, "must be a tenant GUID"),
  BROKER_AUDIENCE: commaList,
  BROKER_TRUSTED_ISSUERS: jsonText(z.array(trustedIssuer)).default([]),
  BROKER_POLICY_FILE: z.string().min(1),
  AZURE_CLIENT_ID: z.string().regex(GUID, "must be a client id GUID").optional(),
  BROKER_MINTING_CLIENT_ID: z.string().regex(GUID, "must be a client id GUID").optional(),
  AZURE_AUTHORITY_HOST: httpsOrLoopback.default("https://login.microsoftonline.com"),
  /** The tenant's v1 issuer where AZURE_AUTHORITY_HOST is no cloud of the table (src/auth/issuers.ts). */
  BROKER_ENTRA_V1_ISSUER: z.url({ protocol: /^https$/ }).optional(),
  BROKER_ROTATION_SCHEDULE: ncrontab("0 0 3 * * *"),
  BROKER_NOTICE_SCHEDULE: ncrontab("0 0 8 * * *"),
  BROKER_NOTICE_DAYS: noticeDaysList.default([7]),
  BROKER_ROTATE_BEFORE_DAYS: intSetting(1, 365).default(10),
  BROKER_REVOKE_GRACE_MINUTES: intSetting(0, 7 * 24 * 60).default(60),
  // Entra takes seconds to ~10 minutes to accept a new client secret everywhere (PROTOCOLS §5).
  BROKER_SECRET_VERIFY_MINUTES: intSetting(1, 24 * 60).default(20),
  // Azure DevOps has two hosts: the PAT Lifecycle API lives on vssps.dev.azure.com, everything
  // else (connectionData, git) on dev.azure.com. Two settings, so neither is derived by string surgery.
  BROKER_DEVOPS_URL: httpsOrLoopback.default("https://dev.azure.com"),
  BROKER_DEVOPS_VSSPS_URL: httpsOrLoopback.default("https://vssps.dev.azure.com"),
  BROKER_GRAPH_URL: httpsOrLoopback.default("https://graph.microsoft.com"),
  BROKER_NOTICE_WEBHOOK_URL: httpsOrLoopback.optional(),
  BROKER_NOTICE_TEAMS_URL: httpsOrLoopback.optional(),
  BROKER_NOTICE_RUNBOOK_URL: httpsOrLoopback.optional(),
  BROKER_LEASE_STORAGE_URL: httpsOrLoopback.optional(),
  AzureWebJobsStorage__blobServiceUri: httpsOrLoopback.optional(),
  /** Identity-based Functions storage names only the account: its blob endpoint is derived. */
  AzureWebJobsStorage__accountName: z
    .string()
    .regex(/^[a-z0-9]{3,24}$/, "must be a storage account name")
    .optional(),
  /** Set only by the dev stack (src/local): plain http:// and loopback targets are allowed. Never in Azure. */
  BROKER_DEV_STACK: z.literal("true", "must be true or unset").optional(),
  /** Set by App Service on every instance: a per-process lease would not do there. */
  WEBSITE_INSTANCE_ID: z.string().optional(),
  AzureWebJobsStorage: connectionString.optional(),
});

/** Every setting the schema reads, so the deployment (infra/) can be checked against it. */
export const SETTING_NAMES: readonly string[] = Object.keys(settingsSchema.shape);

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
  /** BROKER_DEV_STACK=true: plain http:// and loopback targets are allowed (the emulators). */
  devStack: boolean;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Readonly<Record<string, string | undefined>>;

/** Empty strings count as unset: app settings are often present but blank. */
function withoutBlanks(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") out[key] = value;
  }
  return out;
}

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
    devStack,
  };
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
function outboundUrlIssues(s: z.output<typeof settingsSchema>): string[] {
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
