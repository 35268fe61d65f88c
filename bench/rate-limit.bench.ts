import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startDevStack, type DevStack } from "../src/local/dev-stack.js";
import { batchedSink, createLogger } from "../src/log.js";
import { callerToken } from "../test/support/dev-stack.js";
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
 * `npm run bench`: what the per-caller rate limiter costs on the warm path of POST /api/token.
 * Two dev stacks in this process, one with BROKER_RATE_LIMIT high enough that nothing is refused
 * (every request still takes a token from the caller's bucket) and one with it off, driven by
 * autocannon in alternating rounds (which goes first alternates too). Prints the ratios.
 * Target: the limiter's throughput >= 0.95x the unlimited one's (the run-to-run noise of the
 * shared machine; the limiter itself is one WeakMap lookup and a few comparisons per request).
 */

const ON = "1000000/s,burst=1000000";

async function main(): Promise<void> {
  const logDir = mkdtempSync(path.join(tmpdir(), "token-broker-bench-"));
  const logFd = openSync(path.join(logDir, "broker.log"), "w");
  const write = (chunk: string) => {
    writeSync(logFd, chunk);
  };
  const start = (limit: string) =>
    startDevStack({
      env: { PORT: "0", BROKER_RATE_LIMIT: limit },
      log: createLogger(batchedSink(write, write)),
    });
  const stacks: DevStack[] = [];
  try {
    const limited = await start(ON);
    stacks.push(limited);
    const unlimited = await start("off");
    stacks.push(unlimited);
    if (!limited.runtime.limiter.limits("caller") || unlimited.runtime.limiter.limits("caller")) {
      throw new Error("the stacks are not limited as meant");
    }
    const body = JSON.stringify({ profile: "ado-read" });
    const target = async (stack: DevStack) => {
      const headers = {
        "content-type": "application/json",
        authorization: `Bearer ${await callerToken(stack)}`,
      };
      const url = `${stack.brokerUrl}/api/token`;
      const sample = await fetch(url, { method: "POST", headers, body });
      if (sample.status !== 200) throw new Error(`broker answered ${sample.status}`);
      return (seconds: number) => load(url, headers, body, seconds);
    };
    const on = await target(limited);
    const off = await target(unlimited);

    process.stdout.write(`warming up (${CONNECTIONS} connections)…\n`);
    await on(2);
    await off(2);
    const onRuns: Result[] = [];
    const offRuns: Result[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        onRuns.push(await on(DURATION_S));
        offRuns.push(await off(DURATION_S));
      } else {
        offRuns.push(await off(DURATION_S));
        onRuns.push(await on(DURATION_S));
      }
    }
    if (onRuns.some((r) => r.non2xx > 0)) throw new Error("the limiter refused requests: raise ON");
    if (limited.runtime.limiter.size("caller") !== 1) throw new Error("the limiter held no bucket");

    const ratios = onRuns.map((r, i) => r.rps / (offRuns[i]?.rps ?? Number.NaN));
    const throughput = middle(ratios);
    const cpu = middle(onRuns.map((r, i) => r.cpuUsPerRequest / (offRuns[i]?.cpuUsPerRequest ?? Number.NaN)));
    const tail = middle(onRuns.map((r, i) => r.p99 / Math.max(offRuns[i]?.p99 ?? Number.NaN, 1)));
    process.stdout.write(
      [
        "",
        `POST /api/token, warm path, rate limiter on (${ON}) vs off, ${CONNECTIONS} connections, median of ${ROUNDS} alternating ${DURATION_S} s rounds` +
          (PINNED ? " (servers on core 0, load generator on core 1)" : ""),
        header,
        row("limiter on", median(onRuns)),
        row("limiter off (baseline)", median(offRuns)),
        "",
        `per-round throughput ratios: ${ratios.map((x) => x.toFixed(2)).join(" ")}`,
        `throughput ratio ${throughput.toFixed(3)}x (target >= 0.95x) ${throughput >= 0.95 ? "ok" : "MISSED"}`,
        `cpu/request ratio ${cpu.toFixed(3)}x`,
        `p99 ratio        ${tail.toFixed(3)}x (p99 below 1 ms counts as 1 ms)`,
        "",
      ].join("\n"),
    );
  } finally {
    for (const stack of stacks.reverse()) await stack.close();
    closeSync(logFd);
    rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).message}\n`);
  process.exit(1);
});
