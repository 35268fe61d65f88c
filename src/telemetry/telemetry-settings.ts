import { settingsSchema, withoutBlanks, type Settings } from "../app-settings.js";
import { ConfigError } from "../config-error.js";
import type { TelemetrySettings } from "./start.js";

/** APPLICATIONINSIGHTS_* and OpenTelemetry's own OTEL_* variables -> where metrics go. */

const TELEMETRY_SETTINGS = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: true,
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: true,
  OTEL_EXPORTER_OTLP_ENDPOINT: true,
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: true,
  OTEL_METRIC_EXPORT_INTERVAL: true,
  OTEL_SERVICE_NAME: true,
} as const;

/** Only the telemetry settings (the dev stack makes the rest of its configuration itself). */
export function loadTelemetrySettings(env: Readonly<Record<string, string | undefined>>): TelemetrySettings {
  const result = settingsSchema.pick(TELEMETRY_SETTINGS).safeParse(withoutBlanks(env));
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  return telemetryOf(result.data);
}

export function telemetryOf(s: Pick<Settings, keyof typeof TELEMETRY_SETTINGS>): TelemetrySettings {
  return {
    appInsightsConnectionString: s.APPLICATIONINSIGHTS_CONNECTION_STRING,
    appInsightsEntraAuth: appInsightsEntraAuthOf(s.APPLICATIONINSIGHTS_AUTHENTICATION_STRING),
    // The OpenTelemetry rule: the signal's own endpoint as is, else the base endpoint + /v1/metrics.
    otlpMetricsUrl:
      s.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ??
      (s.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined
        ? `${s.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/metrics`
        : undefined),
    exportIntervalMs: s.OTEL_METRIC_EXPORT_INTERVAL,
    serviceName: s.OTEL_SERVICE_NAME,
  };
}

/** `Authorization=AAD;ClientId=…` -> ingestion with that managed identity (no ClientId: the system-assigned one). */
function appInsightsEntraAuthOf(setting: string | undefined): TelemetrySettings["appInsightsEntraAuth"] {
  if (setting === undefined) return undefined;
  const clientId = /ClientId=([0-9a-f-]{36})/i.exec(setting)?.[1]?.toLowerCase();
  return clientId !== undefined ? { clientId } : {};
}
