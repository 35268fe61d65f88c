import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { readFileSync } from "node:fs";
import { DEV_USER } from "../../src/local/dev-identities.js";
import { keyVaultClientOptions } from "../../src/vault/key-vault-store.js";
import { manyPats, randomPat } from "../../src/local/sample-data.js";
import type { DevStack } from "../../src/local/dev-stack.js";

const DAY = 24 * 3600_000;

/**
 * A large vault for the drift report's cost: `credentials` managed PATs (manyPats), the first
 * `upstream` of them matched to PATs of the rotator's user in the Azure DevOps emulator, half in
 * contoso and half in fabrikam; the rest record no organization (nothing to list for them).
 */
export function seedDriftVault(stack: DevStack, credentials: number, upstream: number): void {
  const orgs = ["contoso", "fabrikam"] as const;
  manyPats(credentials).forEach((p, i) => {
    const tags = { ...p.tags };
    if (i < upstream) {
      const org = orgs[i % 2] ?? "contoso";
      tags["org"] = org;
      tags["authorization-id"] = stack.devops.addPat(org, {
        token: randomPat(),
        ownerObjectId: DEV_USER.objectId,
        displayName: p.name,
        scope: "vso.code",
        validTo: new Date(Date.now() + 200 * DAY),
      });
    }
    stack.keyVault.seed(p.name, p.value, { ...p, tags });
  });
}

/** What the drift report asks of each upstream, after the grant's access token is cached. */
export function upstreamCalls(stack: DevStack): {
  vaultListPages: number;
  vaultRequests: number;
  devopsListPages: number;
  devopsRequests: number;
  graphRequests: number;
  entraTokenRequests: number;
} {
  return {
    vaultListPages: stack.keyVault.stats().byOperation.listSecrets ?? 0,
    vaultRequests: stack.keyVault.stats().requests,
    devopsListPages: stack.devops.stats().byOperation.list ?? 0,
    devopsRequests: stack.devops.stats().requests,
    graphRequests: stack.graph.stats().requests,
    entraTokenRequests: stack.entra.stats().tokenRequests,
  };
}

export function resetUpstreamStats(stack: DevStack): void {
  stack.keyVault.resetStats();
  stack.devops.resetStats();
  stack.graph.resetStats();
  stack.entra.resetStats();
}

/**
 * The least a drift report can ask: every vault secret in pages of 25, each organization's
 * active PATs of the grant's user in pages of 100, one Graph call per application. Counted from
 * the emulators themselves, so whatever else the dev stack seeds is counted too.
 */
export async function leastCalls(
  stack: DevStack,
  checked: { organizations: readonly string[]; applications: readonly string[] },
): Promise<{ vaultListPages: number; devopsListPages: number; graphRequests: number }> {
  const vault = new SecretClient(
    stack.keyVault.url,
    new ManagedIdentityCredential({ clientId: stack.identities.control.clientId }),
    keyVaultClientOptions({ extraCa: readFileSync(stack.caFile, "utf8"), maxRetries: 0 }),
  );
  let secrets = 0;
  for await (const secret of vault.listPropertiesOfSecrets()) secrets += secret.name === "" ? 0 : 1;
  const active = (org: string) =>
    stack.devops.pats(org).filter((p) => p.status === "active" && p.ownerObjectId === DEV_USER.objectId)
      .length;
  return {
    vaultListPages: Math.ceil(secrets / 25),
    devopsListPages: checked.organizations.reduce(
      (n, org) => n + Math.max(1, Math.ceil(active(org) / 100)),
      0,
    ),
    graphRequests: checked.applications.length,
  };
}
