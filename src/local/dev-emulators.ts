import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { keyVaultClientOptions } from "../vault/key-vault-store.js";
import { createDevCertificate } from "./dev-certificate.js";
import { seedDriftSamples } from "./drift-samples.js";
import {
  AZURE_DEVOPS_RESOURCE,
  DEV_BROKER_APP_ID,
  DEV_BROKER_AUDIENCE,
  DEV_CLIENTS,
  DEV_DEVOPS_ORGANIZATIONS,
  DEV_DOWNSTREAM_APP,
  DEV_MANAGED_IDENTITIES,
  GRAPH_OWNED_BY_ROLE,
  DEV_PUBLIC_CLIENT,
  DEV_TENANT_ID,
  DEV_USER,
} from "./dev-identities.js";
import { startAzuriteBlob, type AzuriteBlob } from "./emulators/azurite.js";
import { startAzureDevOpsEmulator, type AzureDevOpsEmulator } from "./emulators/azure-devops.js";
import { startEntraEmulator, type EntraEmulator } from "./emulators/entra.js";
import { passwordsReachEntra, startGraphEmulator, type GraphEmulator } from "./emulators/graph.js";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "./emulators/keyvault.js";
import {
  startManagedIdentityEmulator,
  type ManagedIdentity,
  type ManagedIdentityEmulator,
} from "./emulators/managed-identity.js";
import { DevSigner } from "./emulators/signer.js";
import { startWebhookSink, type WebhookSink } from "./emulators/webhook-sink.js";
import {
  randomClientSecret,
  randomPat,
  SAMPLE_APP_SECRET_LIFETIME_DAYS,
  SAMPLE_AUTO_PAT_DAYS,
  SAMPLE_EXPIRING_PAT_DAYS,
  SAMPLE_PAT_LIFETIME_DAYS,
  seedVault,
} from "./sample-data.js";

/**
 * The dev stack's outside world: every emulator started, the broker's two identities in the
 * managed-identity emulator, and the sample credentials in the vault and upstreams. Wiring the
 * broker to them (app settings, runtime, host) is src/local/dev-stack.ts's job.
 */

const VAULT_RESOURCE = "https://vault.azure.net";
const GRAPH_RESOURCE = "https://graph.microsoft.com";

/** An identity a setting names (object id = client id in the emulator), else the dev one. */
function devIdentity(clientId: string | undefined, fallback: ManagedIdentity): ManagedIdentity {
  if (clientId === undefined || clientId.trim() === "") return fallback;
  const id = clientId.trim().toLowerCase();
  return id === fallback.clientId ? fallback : { clientId: id, objectId: id };
}

/** First of each client id wins (a setting may name a dev identity the emulator already has). */
function uniqueIdentities(identities: ManagedIdentity[]): ManagedIdentity[] {
  const seen = new Set<string>();
  return identities.filter((i) => {
    if (seen.has(i.clientId)) return false;
    seen.add(i.clientId);
    return true;
  });
}

/**
 * One signing key per process: MSAL keeps managed-identity tokens in a process-wide cache, so a
 * second stack in the same process (tests) must accept the tokens the first one issued.
 */
let signerOnce: Promise<DevSigner> | undefined;
const processSigner = () => (signerOnce ??= DevSigner.create());

export interface DevEmulators {
  tenantId: string;
  /** The emulators' self-signed CA (PEM), and a file holding it (for a second process, curl --cacert). */
  ca: string;
  caFile: string;
  entra: EntraEmulator;
  keyVault: KeyVaultEmulator;
  managedIdentity: ManagedIdentityEmulator;
  /** Receives expiry notices: `/hook` (JSON webhook) and `/teams` (Teams workflow). */
  webhookSink: WebhookSink;
  /** Azurite's blob service: the sweeps' leases. */
  storage: AzuriteBlob;
  /** Azure DevOps: PAT Lifecycle API and connectionData, one origin for both hosts. */
  devops: AzureDevOpsEmulator;
  graph: GraphEmulator;
  /** The broker's control identity (vault, storage, Graph) and its minting identity (no roles). */
  identities: { control: ManagedIdentity; minting: ManagedIdentity };
}

export interface DevEmulatorOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** The broker's clock: Entra's and Graph's secret propagation run on it. */
  now?: (() => number) | undefined;
  deviceCodeIntervalSeconds?: number | undefined;
  /** Seed the drift samples (src/local/drift-samples.ts): `npm start` does; tests ask for them. */
  driftSamples?: boolean | undefined;
}

/** Starts every emulator; each one's close goes onto `closers` as soon as it runs, so a failed start can undo. */
export async function startDevEmulators(
  options: DevEmulatorOptions,
  closers: (() => Promise<void> | void)[],
): Promise<DevEmulators> {
  const env = options.env;
  const tenantId = (env["BROKER_TENANT_ID"] ?? DEV_TENANT_ID).toLowerCase();
  const tls = await createDevCertificate();
  const signer = await processSigner();
  const appSecret = randomClientSecret();
  const appKeyId = randomUUID();
  const DAY = 24 * 3600_000;

  const entra = await startEntraEmulator({
    tls,
    signer,
    tenantId,
    brokerApp: { appIdUri: DEV_BROKER_AUDIENCE, clientId: DEV_BROKER_APP_ID },
    clients: [...DEV_CLIENTS, { ...DEV_DOWNSTREAM_APP, brokerRoles: [] }],
    users: [DEV_USER],
    publicClients: [DEV_PUBLIC_CLIENT],
    // A new app secret's propagation runs on the broker's clock, so tests move it with fake time.
    ...(options.now !== undefined ? { secretClock: options.now } : {}),
    ...(options.deviceCodeIntervalSeconds !== undefined
      ? { deviceCodeIntervalSeconds: options.deviceCodeIntervalSeconds }
      : {}),
  });
  closers.push(entra.close);
  // The downstream app's secret is keyed like Graph's passwordCredentials, so removing it there stops it here.
  entra.addClientSecret(DEV_DOWNSTREAM_APP.clientId, { keyId: appKeyId, secret: appSecret });

  // The broker's two identities: settings from the environment name them, else the dev ones.
  const control = devIdentity(env["AZURE_CLIENT_ID"], DEV_MANAGED_IDENTITIES.control);
  const minting = devIdentity(env["BROKER_MINTING_CLIENT_ID"], DEV_MANAGED_IDENTITIES.minting);
  const managedIdentity = await startManagedIdentityEmulator({
    signer,
    tenantId,
    systemAssigned: DEV_MANAGED_IDENTITIES.systemAssigned,
    userAssigned: uniqueIdentities([
      // As after the app role assignment in Entra: the control identity's Graph tokens carry it.
      { ...control, resourceRoles: { [GRAPH_RESOURCE]: [GRAPH_OWNED_BY_ROLE] } },
      minting,
      DEV_MANAGED_IDENTITIES.userAssigned,
    ]),
  });
  closers.push(managedIdentity.close);
  // ManagedIdentityCredential (inside MSAL) reads these from the process environment.
  // A second stack in the same process (tests) puts back the first one's on close.
  const previous = { endpoint: process.env["IDENTITY_ENDPOINT"], header: process.env["IDENTITY_HEADER"] };
  process.env["IDENTITY_ENDPOINT"] = managedIdentity.endpoint;
  process.env["IDENTITY_HEADER"] = managedIdentity.header;
  closers.push(() => {
    for (const [key, value] of [
      ["IDENTITY_ENDPOINT", previous.endpoint],
      ["IDENTITY_HEADER", previous.header],
    ] as const) {
      if (value === undefined) Reflect.deleteProperty(process.env, key);
      else process.env[key] = value;
    }
  });

  const devops = await startAzureDevOpsEmulator({
    tls,
    signer,
    tenantId,
    organizations: DEV_DEVOPS_ORGANIZATIONS,
  });
  closers.push(devops.close);
  // The sample PATs are the rotator's user's, known upstream: they authenticate, and it can revoke them.
  const samplePat = (displayName: string, scope: string, days: number) => {
    const token = randomPat();
    const authorizationId = devops.addPat("contoso", {
      token,
      ownerObjectId: DEV_USER.objectId,
      displayName,
      scope,
      validTo: new Date(Date.now() + days * DAY),
    });
    return { token, authorizationId };
  };
  const pat = samplePat("nuget-feed (sample)", "vso.packaging", SAMPLE_PAT_LIFETIME_DAYS);
  const expiringPat = samplePat("packages (sample)", "vso.packaging", SAMPLE_EXPIRING_PAT_DAYS);
  const autoPat = samplePat("code (sample)", "vso.code", SAMPLE_AUTO_PAT_DAYS);

  const graph = await startGraphEmulator({
    tls,
    signer,
    tenantId,
    applications: [
      {
        ...DEV_DOWNSTREAM_APP,
        appId: DEV_DOWNSTREAM_APP.clientId,
        displayName: "dev-downstream",
        // Application.ReadWrite.OwnedBy: the control identity owns the app, nobody else of ours.
        owners: [control.objectId],
        passwords: [
          {
            keyId: appKeyId,
            secret: appSecret,
            endDateTime: new Date(Date.now() + SAMPLE_APP_SECRET_LIFETIME_DAYS * DAY),
          },
        ],
      },
    ],
    // New passwords reach Entra only after DEFAULT_PROPAGATION_DELAY_MS (as in Azure, minutes).
    ...(options.now !== undefined ? { propagationClock: options.now } : {}),
    ...passwordsReachEntra(entra),
  });
  closers.push(graph.close);

  const keyVault = await startKeyVaultEmulator({
    tls,
    tenantId,
    authorize: (token) => signer.verifies(token, VAULT_RESOURCE),
    // Key Vault Secrets Officer is assigned to the control identity only.
    hasDataPlaneRole: async (token) =>
      (await signer.verify(token, VAULT_RESOURCE))?.["oid"] === control.objectId,
  });
  closers.push(() => keyVault.close());

  const webhookSink = await startWebhookSink();
  closers.push(() => webhookSink.close());
  const storage = await startAzuriteBlob();
  closers.push(() => storage.close());

  const caDir = mkdtempSync(path.join(tmpdir(), "token-broker-dev-"));
  closers.push(() => rmSync(caDir, { recursive: true, force: true }));
  const caFile = path.join(caDir, "ca.pem");
  writeFileSync(caFile, tls.cert);

  const vaultWriter = new SecretClient(
    keyVault.url,
    new ManagedIdentityCredential({ clientId: control.clientId, retryOptions: { maxRetries: 0 } }),
    keyVaultClientOptions({ extraCa: tls.cert, maxRetries: 0 }),
  );
  await seedVault(vaultWriter, {
    pat: pat.token,
    patAuthorizationId: pat.authorizationId,
    expiringPat: expiringPat.token,
    expiringPatAuthorizationId: expiringPat.authorizationId,
    autoPat: autoPat.token,
    autoPatAuthorizationId: autoPat.authorizationId,
    appSecret,
    appObjectId: DEV_DOWNSTREAM_APP.objectId,
    appClientId: DEV_DOWNSTREAM_APP.clientId,
    appKeyId,
    refreshToken: entra.mintRefreshToken(
      DEV_USER.objectId,
      DEV_PUBLIC_CLIENT.clientId,
      `${AZURE_DEVOPS_RESOURCE}/.default offline_access`,
    ),
    refreshTokenOwner: DEV_USER.userPrincipalName,
    publicClientId: DEV_PUBLIC_CLIENT.clientId,
  });
  if (options.driftSamples === true) await seedDriftSamples(devops, vaultWriter);

  return {
    tenantId,
    ca: tls.cert,
    caFile,
    entra,
    keyVault,
    managedIdentity,
    webhookSink,
    storage,
    devops,
    graph,
    identities: { control, minting },
  };
}
