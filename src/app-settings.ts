import { Cron } from "croner";
import { z } from "zod";
import { parseRateLimit, type RateLimit } from "./limits/rate-limit.js";
import { isLoopbackUrl } from "./net/loopback.js";

/**
 * The app settings' schema: each setting's name, shape and default. Turning a parse into
 * BrokerConfig (cross-setting rules, the error message) is src/config.ts's job.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The policy's profile names (src/policy/schema.ts PROFILE_NAME; not imported: settings load first). */
const PROFILE_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
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

/** `N/s` or `N/m`, optionally `,burst=B`, or `off` (undefined: no limit). */
const rateLimit = z.string().transform((text, ctx): RateLimit | undefined => {
  const parsed = parseRateLimit(text);
  if (parsed === "off") return undefined;
  if ("error" in parsed) {
    ctx.addIssue({ code: "custom", message: parsed.error });
    return z.NEVER;
  }
  return parsed;
});

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

export const settingsSchema = z.object({
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
  /** Per caller on POST /api/token, per instance; unset: no limit. */
  BROKER_RATE_LIMIT: rateLimit.optional(),
  /** Per admin on the write routes; unset: BROKER_RATE_LIMIT's limit (buckets of their own). */
  BROKER_ADMIN_RATE_LIMIT: rateLimit.optional(),
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
  /** The prober (src/probes): off unless a schedule is set; then a profile it must get and/or one it must be denied. */
  BROKER_PROBE_SCHEDULE: z.string().refine(isNcrontab, "must be a six-field NCRONTAB expression").optional(),
  BROKER_PROBE_ALLOW_PROFILE: z.string().regex(PROFILE_SHAPE, "must be a profile name").optional(),
  BROKER_PROBE_DENY_PROFILE: z.string().regex(PROFILE_SHAPE, "must be a profile name").optional(),
  /** The broker's own base URL for the prober (default: https://WEBSITE_HOSTNAME, or the local host). */
  BROKER_PROBE_URL: httpsOrLoopback.optional(),
  /** The managed identity the prober signs in as (default: AZURE_CLIENT_ID). */
  BROKER_PROBE_CLIENT_ID: z.string().regex(GUID, "must be a client id GUID").optional(),
  /** Set by App Service: the app's default host name. */
  WEBSITE_HOSTNAME: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/, "must be a host name")
    .optional(),
  /** Set only by the dev stack (src/local): plain http:// and loopback targets are allowed. Never in Azure. */
  BROKER_DEV_STACK: z.literal("true", "must be true or unset").optional(),
  /** Set by App Service on every instance: a per-process lease would not do there. */
  WEBSITE_INSTANCE_ID: z.string().optional(),
  AzureWebJobsStorage: connectionString.optional(),
  // Telemetry (src/telemetry): Application Insights (the Bicep sets it) and OpenTelemetry's own variables.
  APPLICATIONINSIGHTS_CONNECTION_STRING: z
    .string()
    .refine((s) => /(^|;)\s*(InstrumentationKey|IngestionEndpoint)=/i.test(s), "must be a connection string")
    .optional(),
  /** `Authorization=AAD;ClientId={guid}`: ingestion with an Entra token (local auth off), as the host reads it. */
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: z
    .string()
    .regex(
      /^\s*Authorization=AAD\s*(;\s*ClientId=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*)?;?\s*$/i,
      "must be Authorization=AAD, optionally ;ClientId={client id GUID}",
    )
    .optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpsOrLoopback.optional(),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: httpsOrLoopback.optional(),
  OTEL_METRIC_EXPORT_INTERVAL: intSetting(1000, 3_600_000).default(60_000),
  OTEL_SERVICE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 letters, digits, dots, dashes or underscores")
    .default("token-broker"),
});

/** Empty strings count as unset: app settings are often present but blank. */
export function withoutBlanks(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") out[key] = value;
  }
  return out;
}

/** Every setting the schema reads, so the deployment (infra/) can be checked against it. */
export const SETTING_NAMES: readonly string[] = Object.keys(settingsSchema.shape);

export type Settings = z.output<typeof settingsSchema>;
