import http from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { startTelemetry, type Telemetry } from "../../src/telemetry/start.js";

/**
 * An OTLP/HTTP metrics receiver of our own: takes `POST /v1/metrics` in the OTLP JSON encoding
 * (what @opentelemetry/exporter-metrics-otlp-http sends) and keeps every data point, flattened.
 */

const anyValue = z
  .object({
    stringValue: z.string().optional(),
    intValue: z.union([z.string(), z.number()]).optional(),
    boolValue: z.boolean().optional(),
    doubleValue: z.number().optional(),
  })
  .loose();
const attribute = z.object({ key: z.string(), value: anyValue });
const point = z
  .object({
    attributes: z.array(attribute).optional(),
    asInt: z.union([z.string(), z.number()]).optional(),
    asDouble: z.number().optional(),
    count: z.union([z.string(), z.number()]).optional(),
    sum: z.number().optional(),
  })
  .loose();
const metric = z
  .object({
    name: z.string(),
    unit: z.string().optional(),
    sum: z
      .object({ dataPoints: z.array(point) })
      .loose()
      .optional(),
    gauge: z
      .object({ dataPoints: z.array(point) })
      .loose()
      .optional(),
    histogram: z
      .object({ dataPoints: z.array(point) })
      .loose()
      .optional(),
  })
  .loose();
const exportRequest = z.object({
  resourceMetrics: z.array(
    z
      .object({
        resource: z
          .object({ attributes: z.array(attribute).optional() })
          .loose()
          .optional(),
        scopeMetrics: z.array(z.object({ metrics: z.array(metric) }).loose()),
      })
      .loose(),
  ),
});

export interface ReceivedPoint {
  metric: string;
  type: "sum" | "gauge" | "histogram";
  attributes: Record<string, string | number | boolean>;
  /** Counters and gauges: the value; histograms: the count of records. */
  value: number;
}

export interface OtlpReceiver {
  url: string;
  /** Every request body as received (to search for canaries). */
  raw: string[];
  resourceAttributes: Record<string, string>[];
  /** The points of the latest export only: cumulative temporality makes each export the whole story. */
  latest(): ReceivedPoint[];
  close(): Promise<void>;
}

function valueOf(v: z.infer<typeof anyValue>): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return "";
}

function flatten(body: z.infer<typeof exportRequest>): ReceivedPoint[] {
  const points: ReceivedPoint[] = [];
  for (const rm of body.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        for (const type of ["sum", "gauge", "histogram"] as const) {
          for (const p of m[type]?.dataPoints ?? []) {
            const attributes = Object.fromEntries((p.attributes ?? []).map((a) => [a.key, valueOf(a.value)]));
            const value =
              type === "histogram"
                ? Number(p.count ?? 0)
                : p.asInt !== undefined
                  ? Number(p.asInt)
                  : (p.asDouble ?? 0);
            points.push({ metric: m.name, type, attributes, value });
          }
        }
      }
    }
  }
  return points;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const raw: string[] = [];
  const resourceAttributes: Record<string, string>[] = [];
  let latest: ReceivedPoint[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      if (req.method !== "POST" || req.url !== "/v1/metrics") {
        res.writeHead(404).end();
        return;
      }
      raw.push(text);
      const parsed = exportRequest.safeParse(JSON.parse(text));
      if (!parsed.success) {
        res.writeHead(400, { "content-type": "application/json" }).end("{}");
        return;
      }
      for (const rm of parsed.data.resourceMetrics) {
        resourceAttributes.push(
          Object.fromEntries((rm.resource?.attributes ?? []).map((a) => [a.key, String(valueOf(a.value))])),
        );
      }
      latest = flatten(parsed.data);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    raw,
    resourceAttributes,
    latest: () => latest,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The broker's own telemetry start, exporting to `receiver` only when flushed (an hour's interval). */
export function startTestTelemetry(receiver: OtlpReceiver, serviceName = "token-broker"): Promise<Telemetry> {
  return startTelemetry({
    appInsightsConnectionString: undefined,
    appInsightsEntraAuth: undefined,
    otlpMetricsUrl: `${receiver.url}/v1/metrics`,
    exportIntervalMs: 3_600_000,
    serviceName,
  });
}
