import type { TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential } from "@azure/identity";
import { azureIdentityMinter } from "./entra/azure-identity-minter.js";
import { Authenticator } from "./auth/authenticator.js";
import { issuerTrusts } from "./auth/issuers.js";
import type { BrokerConfig } from "./config.js";
import { CredentialIssuer } from "./issuance/credential-issuer.js";
import { Drift } from "./drift/drift.js";
import { DriftWatch } from "./drift/drift-watch.js";
import { Inventory } from "./inventory/inventory.js";
import { RateLimiter } from "./limits/rate-limiter.js";
import { RotatorRevoker } from "./rotation/rotator-revoker.js";
import { ClientSecretRotator } from "./rotation/client-secret-rotator.js";
import { deploymentIdOf } from "./rotation/marker.js";
import { PatRotator } from "./rotation/pat-rotator.js";
import { Rotation } from "./rotation/rotation.js";
import { RotationError, type StepHook } from "./rotation/rotation-error.js";
import { checkPat } from "./devops/pat-check.js";
import { PatLifecycleClient } from "./devops/pat-lifecycle-client.js";
import { RotatorIdentity, RotatorIdentityError } from "./devops/rotator-identity.js";
import { ApplicationPasswordsClient } from "./graph/application-passwords-client.js";
import { httpSender } from "./net/http-request.js";
import { BlobLeaseProvider } from "./lease/blob-lease.js";
import { ProcessLeaseProvider, type LeaseProvider } from "./lease/lease.js";
import { createLogger, type Logger } from "./log.js";
import { DEFAULT_DELIVERY, type DeliveryOptions } from "./notices/delivery.js";
import { creationAnnouncer } from "./notices/creation-announcer.js";
import { Notifier } from "./notices/notifier.js";
import { NoticeSweep } from "./notices/sweep.js";
import { loadPolicyFile } from "./policy/load.js";
import type { Policy } from "./policy/policy.js";
import { KeyVaultSecretStore } from "./vault/key-vault-store.js";
import type { SecretStore } from "./vault/secret-store.js";
import { observeWrites } from "./vault/write-observed-store.js";
import { RuntimeMemo } from "./runtime-memo.js";
import { proberOf } from "./probes/prober-setup.js";
import type { Prober } from "./probes/prober.js";
import { metrics as otel } from "@opentelemetry/api";
import { createBrokerMetrics, type BrokerMetrics } from "./telemetry/broker-metrics.js";
import { observedSender, systemsByOrigin, upstreamMetricsPolicy } from "./telemetry/upstream-observer.js";

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
  rotation: Rotation;
  /** `GET /api/drift`: upstream credentials the vault does not know, and the reverse. */
  drift: Drift;
  /** Per-caller token buckets of the routes the table marks `rateLimit` (per instance). */
  limiter: RateLimiter;
  now: () => number;
  /** State of the handlers (answer and audit caches), per runtime rather than per module. */
  memo: RuntimeMemo;
  /** Counters and histograms through the OpenTelemetry API (no-op unless the entry started telemetry). */
  metrics: BrokerMetrics;
  /** The prober (BROKER_PROBE_SCHEDULE); undefined when off. */
  prober: Prober | undefined;
  /** The broker's own base URL where the host knows it (the local host sets it when it listens). */
  selfUrl: string | undefined;
}

export interface RuntimeOptions {
  /** Dev stack only: the emulators' self-signed CA. */
  extraCa?: string;
  log?: Logger;
  now?: () => number;
  /** Tests: shorter timeouts and backoff for notice delivery. */
  noticeDelivery?: Partial<DeliveryOptions>;
  /** Tests: the waits between the quick tries of a new client secret right after it is added. */
  rotationVerify?: { retryDelaysMs?: readonly number[] };
  /** Tests: how old an unknown marked credential must be before a sweep revokes it. */
  orphanMinAgeMs?: number;
  /** Tests: a shorter total deadline for every outbound exchange (upstream clients, key fetches). */
  outboundTimeoutMs?: number;
  /** Tests: a hook after each rotation step (a SimulatedCrash there is a process dying). */
  afterRotationStep?: StepHook;
  /** Tests: metrics of their own (default: the process's meter provider, see src/telemetry/start.ts). */
  metrics?: BrokerMetrics;
}

export function createRuntime(config: BrokerConfig, options: RuntimeOptions = {}): Runtime {
  const log = options.log ?? createLogger();
  const now = options.now ?? Date.now;
  const { extraCa } = options;
  const identities = {
    controlClientId: config.managedIdentityClientId,
    mintingClientId: config.mintingClientId,
  };
  const { devStack } = config;
  const policy = loadPolicyFile(config.policyFile, identities, { devStack });
  // Taken after startTelemetry registered the provider: a meter taken before it stays a no-op.
  const metrics =
    options.metrics ??
    createBrokerMetrics(otel.getMeter("token-broker"), {
      profiles: policy.profileNames(),
      now,
      noticeDays: Math.max(...config.noticeDays),
    });
  const systemOf = systemsByOrigin({
    entra: [config.authorityHost],
    azure_devops: [config.devopsUrl, config.devopsVsspsUrl],
    graph: [config.graphUrl],
    key_vault: [config.keyVaultUrl],
  });
  const timeout = options.outboundTimeoutMs !== undefined ? { timeoutMs: options.outboundTimeoutMs } : {};
  // The control identity: managed identity in Azure; az/azd login on a laptop pointed at a real vault.
  const credential: TokenCredential = new DefaultAzureCredential({
    ...(config.managedIdentityClientId !== undefined
      ? { managedIdentityClientId: config.managedIdentityClientId }
      : {}),
    additionalPolicies: [{ policy: upstreamMetricsPolicy("entra", metrics), position: "perRetry" }],
  });
  const vault = new KeyVaultSecretStore(config.keyVaultUrl, credential, {
    ...(extraCa !== undefined ? { extraCa } : {}),
    observe: upstreamMetricsPolicy("key_vault", metrics),
  });
  const authenticator = new Authenticator(issuerTrusts(config), {
    tenantId: config.tenantId,
    now,
    devStack,
    ...(options.outboundTimeoutMs !== undefined ? { fetchDeadlineMs: options.outboundTimeoutMs } : {}),
    ...(extraCa !== undefined ? { extraCa } : {}),
    send: observedSender(
      httpSender({ devStack, maxBytes: 512 * 1024, ...(extraCa !== undefined ? { extraCa } : {}) }),
      metrics,
      systemOf,
      "oidc_issuer",
    ),
  });
  // The one @azure/identity adapter for minting: the issuer and the client-secret verifier share it.
  const minter = azureIdentityMinter({
    authorityHost: config.authorityHost,
    extraCa,
    observe: upstreamMetricsPolicy("entra", metrics),
  });
  const issuer = new CredentialIssuer({
    store: vault,
    revokeGraceMs: config.revokeGraceMinutes * 60_000,
    minter,
    identities,
    now,
  });
  // Every write through the broker (import, rotate, disable, delete, recover) evicts what the
  // issuer cached from that secret on this instance; other instances see it within the vault cache TTL.
  const store = observeWrites(vault, (name) => issuer.forget(name));
  // Upstream REST clients share one sender (URL rules, total deadline, body cap, the dev CA).
  // Counted by origin; what matches no configured service is a notice target (webhook, Teams).
  const send = observedSender(
    httpSender({ devStack, ...timeout, ...(extraCa !== undefined ? { extraCa } : {}) }),
    metrics,
    systemOf,
    "notice_target",
  );
  const rotator = new RotatorIdentity({
    store,
    authorityHost: config.authorityHost,
    tenantId: config.tenantId,
    send,
    now,
  });
  const pats = (grant: string) =>
    new PatLifecycleClient({
      baseUrl: config.devopsVsspsUrl,
      accessToken: () => rotator.accessToken(grant),
      send,
    });
  const passwords = new ApplicationPasswordsClient({ baseUrl: config.graphUrl, credential, send });
  const deploymentId = deploymentIdOf(config.keyVaultUrl);
  const clientSecrets = new ClientSecretRotator({
    deploymentId,
    passwords,
    tenantId: config.tenantId,
    minter,
    verifyScope: `${config.graphUrl}/.default`,
    now,
    managedApplications: () => policy.managedApplications(),
    ...options.rotationVerify,
  });
  const rotators = {
    pat: new PatRotator({ deploymentId, identity: rotator, pats, devopsUrl: config.devopsUrl, send, now }),
    "client-secret": clientSecrets,
  };
  const revoker = new RotatorRevoker(rotators);
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
    { ...DEFAULT_DELIVERY, send, ...options.noticeDelivery },
    log,
    metrics,
  );
  // Every new version tells its owner, once (import, broker-made create, rotation).
  const announce = creationAnnouncer({ store, notifier, now, log });
  const drift = new Drift({ store, identity: rotator, pats, passwords, deploymentId, now, log });
  const rotation = new Rotation({
    store,
    leases,
    rotators,
    log,
    now,
    announce,
    rotateBeforeDays: config.rotateBeforeDays,
    revokeGraceMinutes: config.revokeGraceMinutes,
    secretVerifyMinutes: config.secretVerifyMinutes,
    onListed: (managed) => {
      rotator.learnGrants(managed);
      metrics.credentials(managed);
    },
    metrics,
    drift: new DriftWatch({ drift, store, notifier, now, log }),
    probeGrant: async (name) => {
      try {
        await rotator.accessToken(name);
      } catch (error) {
        if (!(error instanceof RotatorIdentityError)) throw error;
        throw new RotationError(`rotator_grant_${error.reason}`, error.reason === "unavailable");
      }
    },
    ...(options.afterRotationStep !== undefined ? { afterStep: options.afterRotationStep } : {}),
    ...(options.orphanMinAgeMs !== undefined ? { orphanMinAgeMs: options.orphanMinAgeMs } : {}),
  });
  const inventory = new Inventory({
    store,
    leases,
    revoker,
    announce,
    checkPat: (organization, pat) => checkPat(organization, pat, { baseUrl: config.devopsUrl, send }),
    now,
    noticeDays: config.noticeDays,
    rotateBeforeDays: config.rotateBeforeDays,
    revokeGraceMinutes: config.revokeGraceMinutes,
    creator: (kind, name, tags) => rotation.createFor(kind, name, tags),
    proveClientSecret: (tags, value) => clientSecrets.prove(tags, value),
  });
  const notices = new NoticeSweep({ store, leases, notifier, thresholds: config.noticeDays, now, log });
  const memo = new RuntimeMemo();
  // Monotonic unless a test sets the clock: a wall clock stepped back would block every active caller.
  const limiter = new RateLimiter(
    config.rateLimits,
    options.now ?? (() => performance.now()),
    undefined,
    (kind) => metrics.rateLimited(kind),
  );
  const runtime: Runtime = {
    config,
    log,
    authenticator,
    policy,
    store,
    issuer,
    inventory,
    leases,
    notices,
    rotation,
    drift,
    limiter,
    now,
    memo,
    metrics,
    prober: undefined,
    selfUrl: undefined,
  };
  if (config.probe !== undefined) {
    runtime.prober = proberOf(config, policy, {
      baseUrl: () => config.probe?.url ?? runtime.selfUrl,
      // Not the observed sender: the broker asking itself is no upstream call.
      send: httpSender({ devStack, ...timeout, ...(extraCa !== undefined ? { extraCa } : {}) }),
      metrics,
      log,
    });
  }
  return runtime;
}
