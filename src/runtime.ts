import type { TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential } from "@azure/identity";
import { Authenticator } from "./auth/authenticator.js";
import { issuerTrusts } from "./auth/issuers.js";
import type { BrokerConfig } from "./config.js";
import { CredentialIssuer } from "./issuance/credential-issuer.js";
import { Inventory } from "./inventory/inventory.js";
import { noUpstreamRevoker } from "./inventory/upstream-revoker.js";
import { BlobLeaseProvider } from "./lease/blob-lease.js";
import { ProcessLeaseProvider, type LeaseProvider } from "./lease/lease.js";
import { createLogger, type Logger } from "./log.js";
import { DEFAULT_DELIVERY, type DeliveryOptions } from "./notices/delivery.js";
import { Notifier } from "./notices/notifier.js";
import { NoticeSweep } from "./notices/sweep.js";
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
  leases: LeaseProvider;
  notices: NoticeSweep;
  now: () => number;
}

export interface RuntimeOptions {
  /** Dev stack only: the emulators' self-signed CA. */
  extraCa?: string;
  log?: Logger;
  now?: () => number;
  /** Tests: shorter timeouts and backoff for notice delivery. */
  noticeDelivery?: Partial<DeliveryOptions>;
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
  const leases: LeaseProvider =
    config.leaseStorage !== undefined
      ? new BlobLeaseProvider({ storage: config.leaseStorage, credential, log })
      : new ProcessLeaseProvider();
  if (leases.scope === "process") {
    // Fine for one instance; scale-out or a second host on the same vault needs lease storage.
    log.warn("lease.process_only", { reason: "no lease storage configured" });
  }
  const notifier = new Notifier(
    {
      webhookUrl: config.noticeWebhookUrl,
      teamsUrl: config.noticeTeamsUrl,
      teamsByOwner: policy.noticeTeamsTargets(),
      runbookUrl: config.noticeRunbookUrl,
    },
    { ...DEFAULT_DELIVERY, ...options.noticeDelivery },
    log,
  );
  const notices = new NoticeSweep({ store, leases, notifier, thresholds: config.noticeDays, now, log });
  return { config, log, authenticator, policy, store, issuer, inventory, leases, notices, now };
}
