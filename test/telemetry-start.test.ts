import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { metrics } from "@opentelemetry/api";
import { ConfigError, loadTelemetrySettings } from "../src/config.js";
import { startTelemetry } from "../src/telemetry/start.js";
import { startOtlpReceiver } from "./support/otlp-receiver.js";

describe("telemetry settings", () => {
  test("nothing set: no exporter, a one-minute interval, the service name token-broker", () => {
    assert.deepEqual(loadTelemetrySettings({}), {
      appInsightsConnectionString: undefined,
      appInsightsEntraAuth: undefined,
      otlpMetricsUrl: undefined,
      exportIntervalMs: 60_000,
      serviceName: "token-broker",
    });
  });

  test("OTLP: the base endpoint gets /v1/metrics; the metrics endpoint is taken as is", () => {
    assert.equal(
      loadTelemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.net:4318/" }).otlpMetricsUrl,
      "https://otel.example.net:4318/v1/metrics",
    );
    assert.equal(
      loadTelemetrySettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.net:4318",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "https://metrics.example.net/custom",
      }).otlpMetricsUrl,
      "https://metrics.example.net/custom",
    );
  });

  test("Application Insights with Entra ingestion: the client id of the authentication string", () => {
    const s = loadTelemetrySettings({
      APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=00000000-0000-0000-0000-000000000000",
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING:
        "Authorization=AAD;ClientId=A1B2C3D4-0000-4000-8000-0000000000AA",
    });
    assert.deepEqual(s.appInsightsEntraAuth, { clientId: "a1b2c3d4-0000-4000-8000-0000000000aa" });
    assert.deepEqual(
      loadTelemetrySettings({
        APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=x",
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "Authorization=AAD",
      }).appInsightsEntraAuth,
      {},
    );
  });

  test("bad values stop the start, naming the setting and never echoing it", () => {
    const cases: Record<string, string> = {
      APPLICATIONINSIGHTS_CONNECTION_STRING: "canary-not-a-connection-string",
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "Authorization=canary",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://canary.example.net:4318",
      OTEL_METRIC_EXPORT_INTERVAL: "10",
      OTEL_SERVICE_NAME: "canary name with spaces",
    };
    for (const [name, value] of Object.entries(cases)) {
      assert.throws(
        () => loadTelemetrySettings({ [name]: value }),
        (e: unknown) => e instanceof ConfigError && e.message.includes(name) && !e.message.includes("canary"),
        name,
      );
    }
  });
});

describe("startTelemetry", () => {
  test("Application Insights and OTLP together: both exporters on one provider", async () => {
    const receiver = await startOtlpReceiver();
    const telemetry = await startTelemetry({
      // Nothing listens there: the Azure Monitor export fails quietly, the OTLP one must not.
      appInsightsConnectionString:
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/",
      appInsightsEntraAuth: undefined,
      otlpMetricsUrl: `${receiver.url}/v1/metrics`,
      exportIntervalMs: 3_600_000,
      serviceName: "token-broker",
    });
    try {
      assert.deepEqual(telemetry.exporters, ["azure-monitor", "otlp"]);
      metrics.getMeter("token-broker").createCounter("token_broker.start_test").add(3);
      await telemetry.flush();
      const points = receiver.latest().filter((p) => p.metric === "token_broker.start_test");
      assert.deepEqual(
        points.map((p) => p.value),
        [3],
      );
    } finally {
      await telemetry.shutdown();
      await receiver.close();
    }
  });
});
