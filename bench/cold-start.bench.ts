import { spawn } from "node:child_process";
import path from "node:path";
import { DEV_MANAGED_IDENTITIES } from "../src/local/dev-identities.js";
import { ROOT, startStandInWorker } from "../test/support/functions-worker.js";

/**
 * `npm run bench`, cold start: on Flex Consumption every scale-out loads package.json `main`
 * before its first request. Fresh processes, alternating in the same run: the worker stand-in
 * (test/support/worker-stand-in.ts) loading `main` until every function is registered, against a
 * bare `node -e 0`. Prints both medians and their ratio. Target: <= 6x.
 */

const ROUNDS = Number(process.env["BENCH_COLD_ROUNDS"] ?? 15);
const TARGET = 6;

const ENV = {
  KEY_VAULT_URL: "https://kv-bench.vault.azure.net",
  BROKER_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
  BROKER_AUDIENCE: "api://token-broker",
  BROKER_POLICY_FILE: path.join(ROOT, "policy", "dev.json"),
  // dev.json mints with the minting identity, as the dev stack's app settings name it.
  BROKER_MINTING_CLIENT_ID: DEV_MANAGED_IDENTITIES.minting.clientId,
};

function bareNode(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", () => resolve(performance.now() - started));
  });
}

/** From spawn to every function registered, and to the first answer (GET /api/health). */
async function app(): Promise<{ registered: number; answered: number }> {
  const started = performance.now();
  const worker = await startStandInWorker(ENV);
  const registered = performance.now() - started;
  if (worker.functions.length === 0) throw new Error("no functions registered");
  const health = await worker.http("health", {
    method: "GET",
    url: "https://func-broker.azurewebsites.net/api/health",
    headers: {},
  });
  const answered = performance.now() - started;
  if (health.status !== 200) throw new Error(`health answered ${health.status}`);
  const { code } = await worker.close();
  if (code !== 0) throw new Error(`worker exited ${code}`);
  return { registered, answered };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const bare: number[] = [];
const registered: number[] = [];
const answered: number[] = [];
// One of each first, unmeasured: the file system cache.
await bareNode();
await app();
for (let i = 0; i < ROUNDS; i++) {
  bare.push(await bareNode());
  const run = await app();
  registered.push(run.registered);
  answered.push(run.answered);
}
const ratio = median(registered) / median(bare);
const row = (label: string, values: number[]) =>
  console.log(
    `${label.padEnd(44)} ${median(values).toFixed(0).padStart(6)} ${(median(values) / median(bare)).toFixed(2).padStart(7)}x`,
  );
console.log(`\ncold start, ${ROUNDS} fresh processes each (median ms, and against node -e 0)`);
row("node -e 0", bare);
row("main loaded, all functions registered", registered);
row("first answer (GET /api/health)", answered);
console.log(
  `registered: ${ratio.toFixed(2)}x bare node (target <= ${TARGET}x)${ratio <= TARGET ? "" : "  ABOVE TARGET"}`,
);
