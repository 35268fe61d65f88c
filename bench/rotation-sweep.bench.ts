import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { readFileSync } from "node:fs";
import { startDevStack } from "../src/local/dev-stack.js";
import { manyPats } from "../src/local/sample-data.js";
import { createLogger } from "../src/log.js";
import { keyVaultClientOptions } from "../src/vault/key-vault-store.js";
import { callerToken } from "../test/support/dev-stack.js";

/**
 * `npm run bench`, part 2: the rotation sweep over N managed credentials (nothing due) against the
 * least any sweep must do, listing the same vault with a bare SecretClient, in the same run.
 * Prints vault requests (target: ⌈N/25⌉ list pages, nothing more) and the time ratio.
 */

const N = Number(process.env["BENCH_SWEEP_CREDENTIALS"] ?? 1000);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);

async function main(): Promise<void> {
  const stack = await startDevStack({
    env: { PORT: "0" },
    log: createLogger(() => undefined),
    driftSamples: false,
  });
  try {
    for (const p of manyPats(N)) stack.keyVault.seed(p.name, p.value, p);
    const admin = await callerToken(stack, "dev-admin");
    const sweep = async () => {
      const res = await fetch(`${stack.brokerUrl}/api/sweeps/rotation`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}` },
      });
      if (res.status !== 200) throw new Error(`sweep answered ${res.status}`);
      return (await res.json()) as { checked: number };
    };
    const vault = new SecretClient(
      stack.keyVault.url,
      new ManagedIdentityCredential({ clientId: stack.identities.control.clientId }),
      keyVaultClientOptions({ extraCa: readFileSync(stack.caFile, "utf8"), maxRetries: 0 }),
    );
    const list = async () => {
      const names: string[] = [];
      for await (const secret of vault.listPropertiesOfSecrets()) names.push(secret.name);
      return names.length;
    };
    const total = await list();
    await sweep(); // warm: the grant's access token, JIT; rotates the due sample PAT
    const sweepMs: number[] = [];
    const listMs: number[] = [];
    let sweepRequests = 0;
    let listRequests = 0;
    for (let round = 0; round < ROUNDS; round++) {
      stack.keyVault.resetStats();
      let t = performance.now();
      await sweep();
      sweepMs.push(performance.now() - t);
      sweepRequests = stack.keyVault.stats().requests;
      stack.keyVault.resetStats();
      t = performance.now();
      await list();
      listMs.push(performance.now() - t);
      listRequests = stack.keyVault.stats().requests;
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
    const pages = Math.ceil(total / 25);
    process.stdout.write(
      [
        "",
        `rotation sweep over ${total} credentials (${N} seeded, nothing due), median of ${ROUNDS} rounds`,
        `${"".padEnd(34)} ${"vault requests".padStart(14)} ${"ms".padStart(8)}`,
        `${"sweep (POST sweeps/rotation)".padEnd(34)} ${String(sweepRequests).padStart(14)} ${median(sweepMs).toFixed(0).padStart(8)}`,
        `${"bare SecretClient listing".padEnd(34)} ${String(listRequests).padStart(14)} ${median(listMs).toFixed(0).padStart(8)}`,
        "",
        `vault requests ${sweepRequests} (target ⌈N/25⌉ = ${pages}) ${sweepRequests === pages ? "ok" : "MISSED"}`,
        `time ratio ${(median(sweepMs) / median(listMs)).toFixed(2)}x the bare listing`,
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
