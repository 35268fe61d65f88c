import { spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { createRequire } from "node:module";

/**
 * What the HTTP benches share: autocannon in a process of its own, and the pinning that gives
 * the servers (this process) core 0 and the load generator core 1 when taskset exists.
 */

export const DURATION_S = Number(process.env["BENCH_SECONDS"] ?? 3);
export const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
// Enough connections to keep both servers busy, so the ratio compares work per request, not idle gaps.
export const CONNECTIONS = Number(process.env["BENCH_CONNECTIONS"] ?? 50);

const require = createRequire(import.meta.url);
const AUTOCANNON = require.resolve("autocannon/autocannon.js");

export interface Result {
  /** CPU time (user + system) this process spent per request while serving. */
  cpuUsPerRequest: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export function load(
  url: string,
  headers: Record<string, string>,
  body: string,
  seconds: number,
): Promise<Result> {
  const args = [
    AUTOCANNON,
    "-m",
    "POST",
    "-c",
    String(CONNECTIONS),
    "-d",
    String(seconds),
    "-b",
    body,
    "--json",
  ];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}=${v}`);
  args.push(url);
  const cpuBefore = process.cpuUsage();
  return new Promise((resolve, reject) => {
    // With taskset, the load generator gets its own core and the servers the other one.
    const child = PINNED
      ? spawn("taskset", ["-c", "1", process.execPath, ...args], { stdio: ["ignore", "pipe", "ignore"] })
      : spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}`));
      const cpu = process.cpuUsage(cpuBefore);
      const r = JSON.parse(out) as {
        requests: { average: number; total: number };
        latency: { p50: number; p99: number };
        errors: number;
        non2xx: number;
      };
      resolve({
        cpuUsPerRequest: (cpu.user + cpu.system) / Math.max(r.requests.total, 1),
        rps: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        errors: r.errors,
        non2xx: r.non2xx,
      });
    });
  });
}

/** The run with the median throughput (its latencies belong to the same run). */
export function median(runs: Result[]): Result {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor(sorted.length / 2)] as Result;
}

/** Pins this process (both servers) to core 0 when taskset exists and there are two cores or more. */
function pinToCoreZero(): boolean {
  if (availableParallelism() < 2) return false;
  const result = spawnSync("taskset", ["-a", "-cp", "0", String(process.pid)], { stdio: "ignore" });
  return result.status === 0;
}
export const PINNED = pinToCoreZero();

/** The median of back-to-back ratios: each pair shares the machine's mood. */
export function middle(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
}

export const row = (name: string, r: Result) =>
  `${name.padEnd(26)} ${r.rps.toFixed(0).padStart(9)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${String(r.errors + r.non2xx).padStart(7)} ${r.cpuUsPerRequest.toFixed(0).padStart(10)}`;

export const header = `${"".padEnd(26)} ${"req/s".padStart(9)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"errors".padStart(7)} ${"cpu us/req".padStart(10)}`;

/** The warm token path of a dev stack (caller token fetched, one request checked) as a load run. */
export async function tokenTarget(
  stack: {
    brokerUrl: string;
  },
  bearer: string,
): Promise<(seconds: number) => Promise<Result>> {
  const body = JSON.stringify({ profile: "ado-read" });
  const headers = { "content-type": "application/json", authorization: `Bearer ${bearer}` };
  const url = `${stack.brokerUrl}/api/token`;
  const sample = await fetch(url, { method: "POST", headers, body });
  if (sample.status !== 200) throw new Error(`broker answered ${sample.status}`);
  return (seconds: number) => load(url, headers, body, seconds);
}

/** Warm-up, then ROUNDS alternating rounds (which goes first alternates too): [on runs, off runs]. */
export async function alternate(
  on: (seconds: number) => Promise<Result>,
  off: (seconds: number) => Promise<Result>,
): Promise<[Result[], Result[]]> {
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
  return [onRuns, offRuns];
}
