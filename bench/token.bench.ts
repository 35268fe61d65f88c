import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startDevStack } from "../src/local/dev-stack.js";
import { batchedSink, createLogger } from "../src/log.js";
import { startTelemetry } from "../src/telemetry/start.js";
import { callerToken } from "../test/support/dev-stack.js";
import { discardingCollector } from "./otlp-sink.js";
import {
  CONNECTIONS,
  DURATION_S,
  header,
  load,
  median,
  middle,
  PINNED,
  ROUNDS,
  row,
  type Result,
} from "./autocannon.js";

/**
 * `npm run bench`: authenticated POST /api/token on the warm path (verified-token cache and
 * minted-token cache hit) against a bare node:http server answering the same bytes, in the same
 * run on the same machine, with autocannon in a separate process. Prints the ratios.
 * Targets: throughput >= 0.7x the bare server's, p99 <= 2x. With metrics on, as in production:
 * the OpenTelemetry SDK exports over OTLP every 5 s to a discarding collector in this process.
 */

async function bareServer(
  status: number,
  headers: Record<string, string>,
  body: string,
): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    // Same work a minimal server must do: read the body, answer.
    req.resume();
    req.on("end", () => {
      res.writeHead(status, { ...headers, "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/token`,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}

async function main(): Promise<void> {
  // Audit lines are serialised and written as in production (batched per event-loop turn), to a
  // scratch file rather than this terminal.
  const logDir = mkdtempSync(path.join(tmpdir(), "token-broker-bench-"));
  const logFd = openSync(path.join(logDir, "broker.log"), "w");
  const write = (chunk: string) => {
    writeSync(logFd, chunk);
  };
  const collector = await discardingCollector();
  const telemetry = await startTelemetry({
    appInsightsConnectionString: undefined,
    appInsightsEntraAuth: undefined,
    otlpMetricsUrl: collector.url,
    exportIntervalMs: 5_000,
    serviceName: "token-broker-bench",
  });
  const stack = await startDevStack({ env: { PORT: "0" }, log: createLogger(batchedSink(write, write)) });
  try {
    const token = await callerToken(stack);
    const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
    const body = JSON.stringify({ profile: "ado-read" });
    const url = `${stack.brokerUrl}/api/token`;
    const sample = await fetch(url, { method: "POST", headers, body });
    if (sample.status !== 200) throw new Error(`broker answered ${sample.status}`);
    const answer = await sample.text();
    const answerHeaders: Record<string, string> = {};
    sample.headers.forEach((v, k) => {
      if (!["content-length", "date", "connection", "keep-alive"].includes(k)) answerHeaders[k] = v;
    });
    const bare = await bareServer(200, answerHeaders, answer);

    process.stdout.write(`warming up (${CONNECTIONS} connections)…\n`);
    await load(url, headers, body, 2);
    await load(bare.url, headers, body, 2);
    // Alternating rounds, medians: a noisy neighbour then hurts both sides alike.
    const brokerRuns: Result[] = [];
    const bareRuns: Result[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      brokerRuns.push(await load(url, headers, body, DURATION_S));
      bareRuns.push(await load(bare.url, headers, body, DURATION_S));
    }
    bare.close();
    const broker = median(brokerRuns);
    const baseline = median(bareRuns);

    // Ratios of back-to-back pairs share the machine's mood; their median is the figure reported.
    const throughput = middle(brokerRuns.map((b, i) => b.rps / (bareRuns[i]?.rps ?? Number.NaN)));
    const tail = middle(brokerRuns.map((b, i) => b.p99 / Math.max(bareRuns[i]?.p99 ?? Number.NaN, 1)));
    process.stdout.write(
      [
        "",
        `POST /api/token, warm path, metrics on, ${CONNECTIONS} connections, median of ${ROUNDS} alternating ${DURATION_S} s rounds` +
          (PINNED ? " (servers on core 0, load generator on core 1)" : ""),
        header,
        row("broker", broker),
        row("bare node:http (baseline)", baseline),
        "",
        `per-round throughput ratios: ${brokerRuns.map((b, i) => (b.rps / (bareRuns[i]?.rps ?? 1)).toFixed(2)).join(" ")}`,
        `throughput ratio ${throughput.toFixed(3)}x (target >= 0.70x) ${throughput >= 0.7 ? "ok" : "MISSED"}`,
        `p99 ratio        ${tail.toFixed(3)}x (target <= 2.00x; p99 below 1 ms counts as 1 ms) ${tail <= 2 ? "ok" : "MISSED"}`,
        "",
      ].join("\n"),
    );
  } finally {
    await stack.close();
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
