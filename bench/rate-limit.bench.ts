import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startDevStack, type DevStack } from "../src/local/dev-stack.js";
import type { Principal } from "../src/auth/principal.js";
import { RateLimiter } from "../src/limits/rate-limiter.js";
import { batchedSink, createLogger } from "../src/log.js";
import { callerToken } from "../test/support/dev-stack.js";
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
 * `npm run bench`: what the per-caller rate limiter costs on the warm path of POST /api/token.
 * Two dev stacks in this process, one with BROKER_RATE_LIMIT high enough that nothing is refused
 * (every request still takes a token from the caller's bucket) and one with it off, driven by
 * autocannon in alternating rounds (which goes first alternates too). Prints the ratios.
 * Targets: throughput >= 0.95x and CPU per request <= 1.05x the unlimited one's (the run-to-run
 * noise of a shared machine; the limiter itself is one WeakMap lookup and a few comparisons).
 */

const ON = "1000000/s,burst=1000000";

/**
 * The limiter alone, in this process: nanoseconds per admit() of one caller (its bucket held,
 * as on the warm path) less the same loop over a limiter that limits nothing. The noise of the
 * HTTP rounds is far larger than this, so it says what the HTTP ratios cannot resolve.
 */
function admitCostNs(): number {
  const principal: Principal = {
    issuer: "https://sts.windows.net/a1b2c3d4-0000-4000-8000-000000000001/",
    issuerKind: "entra",
    subject: "a1b2c3d4-0000-4000-8000-0000000001c1",
    claims: {},
    expiresAt: Number.MAX_SAFE_INTEGER,
  };
  // ON's rate with a burst no loop here exhausts: every call takes a token, none is refused.
  const on = new RateLimiter({ caller: { intervalMs: 0.001, burst: 1e9 } }, Date.now);
  const off = new RateLimiter({}, Date.now);
  const time = (limiter: RateLimiter, n: number) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) limiter.admit("caller", principal);
    return Number(process.hrtime.bigint() - start) / n;
  };
  const N = 2_000_000;
  time(on, N);
  time(off, N);
  const runs = Array.from({ length: 5 }, () => time(on, N) - time(off, N));
  return middle(runs);
}

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
    const on = await tokenTarget(limited, await callerToken(limited));
    const off = await tokenTarget(unlimited, await callerToken(unlimited));

    const [onRuns, offRuns] = await alternate(on, off);
    if (onRuns.some((r) => r.non2xx > 0)) throw new Error("the limiter refused requests: raise ON");
    if (limited.runtime.limiter.size("caller") !== 1) throw new Error("the limiter held no bucket");

    const ratios = onRuns.map((r, i) => r.rps / (offRuns[i]?.rps ?? Number.NaN));
    const throughput = middle(ratios);
    const cpu = middle(onRuns.map((r, i) => r.cpuUsPerRequest / (offRuns[i]?.cpuUsPerRequest ?? Number.NaN)));
    const tail = middle(onRuns.map((r, i) => r.p99 / Math.max(offRuns[i]?.p99 ?? Number.NaN, 1)));
    const admitNs = admitCostNs();
    const offCpuUs = median(offRuns).cpuUsPerRequest;
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
        `cpu/request ratio ${cpu.toFixed(3)}x (target <= 1.05x) ${cpu <= 1.05 ? "ok" : "MISSED"}`,
        `p99 ratio        ${tail.toFixed(3)}x (p99 below 1 ms counts as 1 ms)`,
        `admit() alone: ${admitNs.toFixed(0)} ns per request, ${((admitNs / 1000 / offCpuUs) * 100).toFixed(2)} % of the unlimited warm path's ${offCpuUs.toFixed(0)} us CPU`,
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
