import type { Logger } from "../log.js";

/**
 * Registers the process's OpenTelemetry meter provider, before the runtime creates its
 * instruments (the metrics API has no proxy: a meter taken earlier stays a no-op). Application
 * Insights through `@azure/monitor-opentelemetry` when its connection string is set, OTLP/HTTP
 * when an OTLP endpoint is, both when both are, nothing otherwise. The SDKs load only when used.
 */

export interface TelemetrySettings {
  /** APPLICATIONINSIGHTS_CONNECTION_STRING (holds the ingestion key: never logged). */
  appInsightsConnectionString: string | undefined;
  /** APPLICATIONINSIGHTS_AUTHENTICATION_STRING: export with an Entra token of this managed identity. */
  appInsightsEntraAuth: { clientId?: string } | undefined;
  /** OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/metrics`. */
  otlpMetricsUrl: string | undefined;
  /** OTEL_METRIC_EXPORT_INTERVAL, milliseconds. */
  exportIntervalMs: number;
  /** OTEL_SERVICE_NAME: the cloud role name in Application Insights. */
  serviceName: string;
}

export interface Telemetry {
  exporters: readonly ("azure-monitor" | "otlp")[];
  /** Exports what is pending now (tests, and a graceful stop). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

const NONE: Telemetry = { exporters: [], flush: () => Promise.resolve(), shutdown: () => Promise.resolve() };

export async function startTelemetry(settings: TelemetrySettings, log?: Logger): Promise<Telemetry> {
  const { appInsightsConnectionString, otlpMetricsUrl, exportIntervalMs, serviceName } = settings;
  if (appInsightsConnectionString === undefined && otlpMetricsUrl === undefined) return NONE;
  const [{ metrics }, { MeterProvider, PeriodicExportingMetricReader }, { resourceFromAttributes }] =
    await Promise.all([
      import("@opentelemetry/api"),
      import("@opentelemetry/sdk-metrics"),
      import("@opentelemetry/resources"),
    ]);
  const readers = [];
  if (otlpMetricsUrl !== undefined) {
    const { OTLPMetricExporter } = await import("@opentelemetry/exporter-metrics-otlp-http");
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: otlpMetricsUrl }),
        exportIntervalMillis: exportIntervalMs,
        exportTimeoutMillis: Math.min(30_000, exportIntervalMs),
      }),
    );
  }
  const resource = resourceFromAttributes({ "service.name": serviceName });
  const exporters: ("azure-monitor" | "otlp")[] = otlpMetricsUrl !== undefined ? ["otlp"] : [];
  let flush: () => Promise<void>;
  let shutdown: () => Promise<void>;
  if (appInsightsConnectionString !== undefined) {
    const monitor = await import("@azure/monitor-opentelemetry");
    // Application Insights with local auth off takes only Entra tokens (the Bicep's setup).
    const entra = settings.appInsightsEntraAuth;
    const credential =
      entra !== undefined
        ? new (await import("@azure/identity")).ManagedIdentityCredential(
            entra.clientId !== undefined ? { clientId: entra.clientId } : {},
          )
        : undefined;
    monitor.useAzureMonitor({
      azureMonitorExporterOptions: {
        connectionString: appInsightsConnectionString,
        ...(credential !== undefined ? { credential } : {}),
      },
      resource,
      metricReaders: readers,
      // Metrics only: the Functions host already records requests and logs, and tracing outbound
      // HTTP would put URLs in Application Insights (a Teams workflow URL carries its key).
      instrumentationOptions: {
        http: { enabled: false },
        azureSdk: { enabled: false },
        mongoDb: { enabled: false },
        mySql: { enabled: false },
        postgreSql: { enabled: false },
        redis: { enabled: false },
        redis4: { enabled: false },
        bunyan: { enabled: false },
        winston: { enabled: false },
      },
      enableLiveMetrics: false,
    });
    exporters.unshift("azure-monitor");
    const provider = metrics.getMeterProvider() as { forceFlush?: () => Promise<void> };
    flush = async () => provider.forceFlush?.();
    shutdown = () => monitor.shutdownAzureMonitor();
  } else {
    const provider = new MeterProvider({ resource, readers });
    metrics.setGlobalMeterProvider(provider);
    flush = () => provider.forceFlush();
    shutdown = () => provider.shutdown();
  }
  log?.info("telemetry.started", { exporters, exportIntervalMs });
  return { exporters, flush, shutdown };
}
