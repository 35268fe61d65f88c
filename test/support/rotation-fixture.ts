import type { TokenCredential } from "@azure/core-auth";
import { createDevCertificate } from "../../src/local/dev-certificate.js";
import {
  DEV_CLIENTS,
  DEV_DOWNSTREAM_APP,
  DEV_PUBLIC_CLIENT,
  DEV_USER,
  GRAPH_OWNED_BY_ROLE,
} from "../../src/local/dev-identities.js";
import { startEntraEmulator, type EntraEmulator } from "../../src/local/emulators/entra.js";
import {
  passwordsReachEntra,
  startGraphEmulator,
  type GraphEmulator,
} from "../../src/local/emulators/graph.js";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "../../src/local/emulators/keyvault.js";
import { DevSigner } from "../../src/local/emulators/signer.js";
import { randomClientSecret } from "../../src/local/sample-data.js";
import { azureIdentityMinter } from "../../src/entra/azure-identity-minter.js";
import { ApplicationPasswordsClient } from "../../src/graph/application-passwords-client.js";
import { TAG } from "../../src/inventory/managed-credential.js";
import { ProcessLeaseProvider } from "../../src/lease/lease.js";
import { createLogger } from "../../src/log.js";
import { httpSender } from "../../src/net/http-request.js";
import { ClientSecretRotator } from "../../src/rotation/client-secret-rotator.js";
import type { RotationContext } from "../../src/rotation/rotation-types.js";
import { KeyVaultSecretStore } from "../../src/vault/key-vault-store.js";

export const TENANT = "a1b2c3d4-0000-4000-8000-000000000001";
export const DEPLOYMENT = "unittest";
export const SEEDED_KEY = "a1b2c3d4-0000-4000-8000-00000000c0de";
export const DAY = 24 * 3600_000;
export const MINUTE = 60_000;
const GRAPH = "https://graph.microsoft.com";
const vaultCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: "test-token", expiresOnTimestamp: Date.now() + 3600_000 }),
};

export interface RotationFixture {
  clock: { now: number };
  kv: KeyVaultEmulator;
  store: KeyVaultSecretStore;
  entra: EntraEmulator;
  graph: GraphEmulator;
  rotator: ClientSecretRotator;
  leases: ProcessLeaseProvider;
  ctx: RotationContext;
  seededSecret: string;
  logLines: string[];
  /** Tags of a broker-managed client secret of the downstream app. */
  tags: (extra?: Record<string, string>) => Record<string, string>;
  keyIds: () => string[];
  close: () => Promise<void>;
}

/**
 * The set-up of rotation-sweep.test.ts: Key Vault, Graph and Entra emulators with a real
 * ClientSecretRotator, and a RotationContext whose clock the test moves.
 */
export async function startRotationFixture(orphanMinAgeMs: number): Promise<RotationFixture> {
  const admin = DEV_CLIENTS.find((c) => c.name === "dev-admin");
  const seededSecret = randomClientSecret();
  const clock = { now: Date.now() };
  const logLines: string[] = [];
  const tls = await createDevCertificate();
  const kv = await startKeyVaultEmulator({ tls, tenantId: TENANT, authorize: (t) => t === "test-token" });
  const store = new KeyVaultSecretStore(kv.url, vaultCredential, { extraCa: tls.cert, maxRetries: 0 });
  const signer = await DevSigner.create();
  const send = httpSender({ extraCa: tls.cert, devStack: true });
  const entra = await startEntraEmulator({
    tls,
    signer,
    tenantId: TENANT,
    brokerApp: { appIdUri: "api://token-broker", clientId: "a1b2c3d4-0000-4000-8000-0000000000b0" },
    // dev-admin stands in for the broker: Graph's app role is in its Graph tokens.
    clients: [
      ...DEV_CLIENTS.map((c) =>
        c.name === "dev-admin" ? { ...c, resourceRoles: { [GRAPH]: [GRAPH_OWNED_BY_ROLE] } } : c,
      ),
      { ...DEV_DOWNSTREAM_APP, brokerRoles: [] },
    ],
    users: [DEV_USER],
    publicClients: [DEV_PUBLIC_CLIENT],
  });
  entra.addClientSecret(DEV_DOWNSTREAM_APP.clientId, { keyId: SEEDED_KEY, secret: seededSecret });
  const graph = await startGraphEmulator({
    tls,
    signer,
    tenantId: TENANT,
    applications: [
      {
        objectId: DEV_DOWNSTREAM_APP.objectId,
        appId: DEV_DOWNSTREAM_APP.clientId,
        displayName: "downstream",
        owners: [admin?.objectId ?? ""],
        passwords: [
          { keyId: SEEDED_KEY, secret: seededSecret, endDateTime: new Date(Date.now() + 180 * DAY) },
        ],
      },
    ],
    propagationDelayMs: 0,
    ...passwordsReachEntra(entra),
  });
  const minter = azureIdentityMinter({ authorityHost: entra.url, extraCa: tls.cert });
  const credential: TokenCredential = minter.clientSecret(
    TENANT,
    admin?.clientId ?? "",
    admin?.secret ?? "",
    {
      maxRetries: 0,
    },
  );
  const rotator = new ClientSecretRotator({
    deploymentId: DEPLOYMENT,
    passwords: new ApplicationPasswordsClient({ baseUrl: graph.url, credential, send }),
    tenantId: TENANT,
    minter,
    verifyScope: `${GRAPH}/.default`,
    now: Date.now,
    retryDelaysMs: [],
  });
  const leases = new ProcessLeaseProvider();
  const ctx: RotationContext = {
    step: () => Promise.resolve(),
    options: {
      store,
      leases,
      rotators: { "client-secret": rotator },
      log: createLogger((line) => logLines.push(line)),
      now: () => clock.now,
      rotateBeforeDays: 14,
      revokeGraceMinutes: 60,
      secretVerifyMinutes: 10,
      orphanMinAgeMs,
    },
  };
  return {
    clock,
    kv,
    store,
    entra,
    graph,
    rotator,
    leases,
    ctx,
    seededSecret,
    logLines,
    tags: (extra = {}) => ({
      [TAG.managedBy]: "token-broker",
      [TAG.kind]: "client-secret",
      [TAG.owner]: "team-a@contoso.com",
      [TAG.applicationObjectId]: DEV_DOWNSTREAM_APP.objectId,
      [TAG.clientId]: DEV_DOWNSTREAM_APP.clientId,
      [TAG.lifetimeDays]: "90",
      ...extra,
    }),
    keyIds: () => graph.passwords(DEV_DOWNSTREAM_APP.objectId).map((p) => p.keyId),
    close: async () => {
      await Promise.all([graph.close(), entra.close(), kv.close()]);
    },
  };
}
