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
    await sweepCost(stack, c, target);
  } finally {
    await stack.close();
  }
}

/**
 * The daily rotation sweep with its drift read: once to settle (it rotates the due sample and
 * tells the drift findings' owners), then the steady state measured against the drift report
 * alone in the same run. Target: the vault listing once plus the drift state; the upstream lists
 * twice, once for orphan repair (PATs carrying the marker) and once for drift.
 */
async function sweepCost(
  stack: Awaited<ReturnType<typeof startDevStack>>,
  alone: ReturnType<typeof upstreamCalls>,
  target: { vault: number; devops: number; graph: number },
): Promise<void> {
  const admin = await callerToken(stack, "dev-admin");
  const sweep = async () => {
    const res = await fetch(`${stack.brokerUrl}/api/sweeps/rotation`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}` },
    });
    if (res.status !== 200) throw new Error(`the rotation sweep answered ${res.status}`);
    return (await res.json()) as { checked: number; drift?: { unmanagedPats: number; notified: number } };
  };
  await sweep();
  resetUpstreamStats(stack);
  const t = performance.now();
  const report = await sweep();
  const ms = performance.now() - t;
  const c = upstreamCalls(stack);
  const ratio = (a: number, b: number) => (b === 0 ? "-" : `${(a / b).toFixed(2)}x`);
  const row = (label: string, calls: number, want: number, base: number) =>
    `${label.padEnd(44)} ${String(calls).padStart(6)} ${String(want).padStart(7)} ${ratio(calls, base).padStart(8)} ${calls <= want ? "ok" : "MISSED"}`;
  process.stdout.write(
    [
      `rotation sweep + drift over ${report.checked} managed credentials, ${M} upstream PATs, ${ms.toFixed(0)} ms (drift: ${report.drift?.unmanagedPats ?? "?"} unmanaged, ${report.drift?.notified ?? "?"} newly notified)`,
      `${"upstream".padEnd(44)} ${"calls".padStart(6)} ${"target".padStart(7)} ${"vs report".padStart(8)}`,
      row("Key Vault (list pages + drift state)", c.vaultRequests, target.vault + 1, alone.vaultRequests),
      row(
        "Azure DevOps (PAT list pages, repair + drift)",
        c.devopsRequests,
        2 * target.devops,
        alone.devopsRequests,
      ),
      row(
        "Microsoft Graph (per app, repair + drift)",
        c.graphRequests,
        2 * target.graph,
        alone.graphRequests,
      ),
      row("Entra (token cached)", c.entraTokenRequests, 0, alone.entraTokenRequests),
      "",
    ].join("\n"),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).message}\n`);
  process.exit(1);
});
