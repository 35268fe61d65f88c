import type { TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential } from "@azure/identity";
import { Authenticator } from "./auth/authenticator.js";
import { issuerTrusts } from "./auth/issuers.js";
import type { BrokerConfig } from "./config.js";
import { CredentialIssuer } from "./issuance/credential-issuer.js";
import { Inventory } from "./inventory/inventory.js";
import { noUpstreamRevoker } from "./inventory/upstream-revoker.js";
import { createLogger, type Logger } from "./log.js";
import { loadPolicyFile } from "./policy/load.js";
import type { Policy } from "./policy/policy.js";
import { KeyVaultSecretStore } from "./vault/key-vault-store.js";
import type { SecretStore } from "./vault/secret-store.js";

/** Everything a handler needs, built once per process from the configuration. */
export interface Runtime {
  config: BrokerConfig;
  log: Logger;
  authenticator: Authenticator;
  policy: Policy;
  store: SecretStore;
  issuer: CredentialIssuer;
  inventory: Inventory;
  now: () => number;
}

export interface RuntimeOptions {
  /** Dev stack only: the emulators' self-signed CA. */
  extraCa?: string;
  log?: Logger;
  now?: () => number;
}

export function createRuntime(config: BrokerConfig, options: RuntimeOptions = {}): Runtime {
  const log = options.log ?? createLogger();
  const now = options.now ?? Date.now;
  const { extraCa } = options;
  const policy = loadPolicyFile(config.policyFile);
  // Managed identity in Azure; az/azd login on a laptop pointed at a real vault.
  const credential: TokenCredential = new DefaultAzureCredential(
    config.managedIdentityClientId !== undefined
      ? { managedIdentityClientId: config.managedIdentityClientId }
      : {},
  );
  const store = new KeyVaultSecretStore(
    config.keyVaultUrl,
    credential,
    extraCa !== undefined ? { extraCa } : {},
  );
  const authenticator = new Authenticator(issuerTrusts(config), {
    tenantId: config.tenantId,
    now,
    ...(extraCa !== undefined ? { extraCa } : {}),
  });
  const issuer = new CredentialIssuer({
    store,
    authorityHost: config.authorityHost,
    managedIdentityClientId: config.managedIdentityClientId,
    extraCa,
    now,
  });
  const inventory = new Inventory({ store, revoker: noUpstreamRevoker, now, noticeDays: config.noticeDays });
  return { config, log, authenticator, policy, store, issuer, inventory, now };
}
