import { startDevStack } from "../src/local/dev-stack.js";
import { createLogger } from "../src/log.js";
import { callerToken } from "../test/support/dev-stack.js";
import { leastCalls, resetUpstreamStats, seedDriftVault, upstreamCalls } from "../test/support/drift-seed.js";

/**
 * `npm run bench`, drift: the upstream calls of one drift report (`GET /api/drift`) over N vault
 * credentials (manyPats) of which M are PATs upstream, against the target: ⌈N/25⌉ vault pages,
 * ⌈PATs/100⌉ listing pages per organization, one Graph call per application, no token requests
 * once the grant's access token is cached.
 */

const N = Number(process.env["BENCH_DRIFT_CREDENTIALS"] ?? 1000);
const M = Number(process.env["BENCH_DRIFT_UPSTREAM_PATS"] ?? 500);

async function main(): Promise<void> {
  const stack = await startDevStack({
    env: { PORT: "0" },
    log: createLogger(() => undefined),
    driftSamples: false,
  });
  try {
    seedDriftVault(stack, N, M);
    const ops = await callerToken(stack, "dev-ops");
    const drift = async () => {
      const res = await fetch(`${stack.brokerUrl}/api/drift`, {
        headers: { authorization: `Bearer ${ops}` },
      });
      if (res.status !== 200) throw new Error(`drift answered ${res.status}`);
      return (await res.json()) as {
        checked: { credentials: number; organizations: string[]; applications: string[] };
      };
    };
    await drift(); // warm: the grant's access token, JIT
    resetUpstreamStats(stack);
    const t = performance.now();
    const report = await drift();
    const ms = performance.now() - t;
    const c = upstreamCalls(stack);
    const least = await leastCalls(stack, report.checked);
    const target = { vault: least.vaultListPages, devops: least.devopsListPages, graph: least.graphRequests };
    const row = (label: string, calls: number, want: number) =>
      `${label.padEnd(44)} ${String(calls).padStart(6)} ${String(want).padStart(7)} ${calls <= want ? "ok" : "MISSED"}`;
    process.stdout.write(
      [
        "",
        `drift report over ${report.checked.credentials} managed credentials (${N} seeded), ${M} upstream PATs, ${ms.toFixed(0)} ms`,
        `${"upstream".padEnd(44)} ${"calls".padStart(6)} ${"target".padStart(7)}`,
        row("Key Vault (list pages of 25)", c.vaultRequests, target.vault),
        row(
          `Azure DevOps (PAT list, $top=100, ${report.checked.organizations.length} orgs)`,
          c.devopsRequests,
          target.devops,
        ),
        row("Microsoft Graph (passwordCredentials per app)", c.graphRequests, target.graph),
        row("Entra (grant redemptions, token cached)", c.entraTokenRequests, 0),
        "",
      ].join("\n"),
    );
  } finally {
    await stack.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).message}\n`);
  process.exit(1);
});
