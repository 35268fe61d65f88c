import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { metrics as otel } from "@opentelemetry/api";
import { startDevStack, type DevStack } from "../src/local/dev-stack.js";
import { batchedSink, createLogger } from "../src/log.js";
import { createBrokerMetrics, NO_METRICS } from "../src/telemetry/broker-metrics.js";
import { startTelemetry } from "../src/telemetry/start.js";
import { callerToken } from "../test/support/dev-stack.js";
import { discardingCollector } from "./otlp-sink.js";
import {
  CONNECTIONS,
  DURATION_S,
  header,
  alternate,
  tokenTarget,
  median,
  middle,
  PINNED,
  ROUNDS,
  row,
} from "./autocannon.js";

/**
 * `npm run bench`: what the metrics cost on the warm path of POST /api/token. The OpenTelemetry
 * SDK is registered as the entries do (OTLP/HTTP, exporting every 5 s to a collector in this
 * process that discards); one dev stack takes its meter from it, one has metrics off; autocannon
 * drives both in alternating rounds. Prints the ratios, and the recording alone in ns.
 * Targets: throughput >= 0.90x and CPU per request <= 1.10x the metrics-off stack's (the SDK's
 * histogram record, ~2-3 us of attribute hashing, is most of it; counters are tallied in maps).
 */

/** Nanoseconds of the records one warm token request makes (latency, issuance, two cache lookups). */
function recordCostNs(): number {
  const on = createBrokerMetrics(otel.getMeter("bench"), {
    profiles: ["ado-read"],
    now: Date.now,
    noticeDays: 7,
  });
  const time = (m: typeof NO_METRICS, n: number) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      m.cache("caller_token", true);
      m.cache("credential", true);
      m.issuance("ado-read", "issued");
      m.request("/api/token", "POST", 200, 0.0004);
    }
    return Number(process.hrtime.bigint() - start) / n;
  };
  const N = 500_000;
  time(on, N);
  time(NO_METRICS, N);
  return middle(Array.from({ length: 5 }, () => time(on, N) - time(NO_METRICS, N)));
}

async function main(): Promise<void> {
  const collector = await discardingCollector();
  const telemetry = await startTelemetry({
    appInsightsConnectionString: undefined,
    appInsightsEntraAuth: undefined,
    otlpMetricsUrl: collector.url,
    exportIntervalMs: 5_000,
    serviceName: "token-broker-bench",
  });
  const logDir = mkdtempSync(path.join(tmpdir(), "token-broker-bench-"));
  const logFd = openSync(path.join(logDir, "broker.log"), "w");
  const write = (chunk: string) => {
    writeSync(logFd, chunk);
  };
  const start = (off: boolean) =>
    startDevStack({
      env: { PORT: "0" },
      log: createLogger(batchedSink(write, write)),
      driftSamples: false,
      ...(off ? { metrics: NO_METRICS } : {}),
    });
  const stacks: DevStack[] = [];
  try {
    const measured = await start(false);
    stacks.push(measured);
    const unmeasured = await start(true);
    stacks.push(unmeasured);
    const on = await tokenTarget(measured, await callerToken(measured));
    const off = await tokenTarget(unmeasured, await callerToken(unmeasured));
    const [onRuns, offRuns] = await alternate(on, off);
    await telemetry.flush();
    if (collector.exports() === 0) throw new Error("the collector received no export: metrics were not on");
    const ratios = onRuns.map((r, i) => r.rps / (offRuns[i]?.rps ?? Number.NaN));
    const throughput = middle(ratios);
    const cpu = middle(onRuns.map((r, i) => r.cpuUsPerRequest / (offRuns[i]?.cpuUsPerRequest ?? Number.NaN)));
    const recordNs = recordCostNs();
    const offCpuUs = median(offRuns).cpuUsPerRequest;
    process.stdout.write(
      [
        "",
        `POST /api/token, warm path, metrics on (OpenTelemetry SDK, OTLP every 5 s) vs off, ${CONNECTIONS} connections, median of ${ROUNDS} alternating ${DURATION_S} s rounds` +
          (PINNED ? " (servers on core 0, load generator on core 1)" : ""),
        header,
        row("metrics on", median(onRuns)),
        row("metrics off (baseline)", median(offRuns)),
        "",
        `per-round throughput ratios: ${ratios.map((x) => x.toFixed(2)).join(" ")}`,
        `throughput ratio ${throughput.toFixed(3)}x (target >= 0.90x) ${throughput >= 0.9 ? "ok" : "MISSED"}`,
        `cpu/request ratio ${cpu.toFixed(3)}x (target <= 1.10x) ${cpu <= 1.1 ? "ok" : "MISSED"}`,
        `recording alone: ${recordNs.toFixed(0)} ns per request, ${((recordNs / 1000 / offCpuUs) * 100).toFixed(2)} % of the warm path's ${offCpuUs.toFixed(0)} us CPU; ${collector.exports()} exports received`,
        "",
      ].join("\n"),
    );
  } finally {
    for (const stack of stacks.reverse()) await stack.close();
    await telemetry.shutdown();
    collector.close();
    closeSync(logFd);
    rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).message}\n`);
  process.exit(1);
});
