import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig, type BrokerConfig } from "../config.js";
import { registrations as defaultRegistrations, type Registrations } from "../functions/registrations.js";
import { createLogger, type Logger } from "../log.js";
import { createRuntime, type Runtime, type RuntimeOptions } from "../runtime.js";
import { keyVaultClientOptions } from "../vault/key-vault-store.js";
import { createDevCertificate } from "./dev-certificate.js";
import { randomUUID } from "node:crypto";
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
import { startLocalHost, type LocalHost, type LocalHostOptions } from "./host.js";
import {
  randomClientSecret,
  randomPat,
  SAMPLE_APP_SECRET_LIFETIME_DAYS,
  SAMPLE_PAT_LIFETIME_DAYS,
  seedVault,
} from "./sample-data.js";

/**
 * `npm start` without KEY_VAULT_URL: every emulator, sample data and the broker in one process,
 * like `vault server -dev`. Settings from the environment still win over the dev defaults.
 */

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const DEV_POLICY_FILE = path.join(PACKAGE_ROOT, "policy", "dev.json");

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

export interface DevStack {
  brokerUrl: string;
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
  caFile: string;
  /** The settings the broker's configuration was loaded from (what a second process needs, with the CA). */
  appSettings: Readonly<Record<string, string | undefined>>;
  config: BrokerConfig;
  runtime: Runtime;
  close: () => Promise<void>;
}

export interface DevStackOptions {
  env?: Readonly<Record<string, string | undefined>>;
  log?: Logger;
  registrations?: Registrations;
  /** The broker's clock (tests move it to reach notice thresholds). */
  now?: () => number;
  noticeDelivery?: RuntimeOptions["noticeDelivery"];
  rotationVerify?: RuntimeOptions["rotationVerify"];
  afterRotationStep?: RuntimeOptions["afterRotationStep"];
  orphanMinAgeMs?: RuntimeOptions["orphanMinAgeMs"];
  /** The Entra emulator's device-code polling interval (Entra: 5 s; tests shorten it). */
  deviceCodeIntervalSeconds?: number;
  outboundTimeoutMs?: RuntimeOptions["outboundTimeoutMs"];
  /** Tests: the clock the local host's timers wait on. */
  timerClock?: LocalHostOptions["timerClock"];
}

export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const env = options.env ?? process.env;
  const log = options.log ?? createLogger();
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
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
    const pat = randomPat();
    const patAuthorizationId = devops.addPat("contoso", {
      token: pat,
      ownerObjectId: DEV_USER.objectId,
      displayName: "nuget-feed (sample)",
      scope: "vso.packaging",
      validTo: new Date(Date.now() + SAMPLE_PAT_LIFETIME_DAYS * DAY),
    });

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
      pat,
      patAuthorizationId,
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

    const appSettings: Record<string, string | undefined> = {
      // The emulators listen on loopback, some on plain http: only the dev stack may say so.
      BROKER_DEV_STACK: "true",
      BROKER_TENANT_ID: tenantId,
      BROKER_AUDIENCE: DEV_BROKER_AUDIENCE,
      BROKER_POLICY_FILE: DEV_POLICY_FILE,
      AZURE_CLIENT_ID: control.clientId,
      BROKER_MINTING_CLIENT_ID: minting.clientId,
      AZURE_AUTHORITY_HOST: entra.url,
      // A loopback authority is no Entra cloud the broker knows: the emulator's v1 issuer is named.
      BROKER_ENTRA_V1_ISSUER: entra.issuerV1,
      BROKER_NOTICE_WEBHOOK_URL: `${webhookSink.url}/hook`,
      BROKER_NOTICE_TEAMS_URL: `${webhookSink.url}/teams`,
      AzureWebJobsStorage: storage.connectionString,
      BROKER_DEVOPS_URL: devops.url,
      BROKER_DEVOPS_VSSPS_URL: devops.url,
      BROKER_GRAPH_URL: graph.url,
      ...env,
      KEY_VAULT_URL: keyVault.url,
    };
    const config = loadConfig(appSettings);
    const runtime = createRuntime(config, {
      extraCa: tls.cert,
      log,
      ...(options.now !== undefined ? { now: options.now } : {}),
      ...(options.noticeDelivery !== undefined ? { noticeDelivery: options.noticeDelivery } : {}),
      ...(options.rotationVerify !== undefined ? { rotationVerify: options.rotationVerify } : {}),
      ...(options.afterRotationStep !== undefined ? { afterRotationStep: options.afterRotationStep } : {}),
      ...(options.orphanMinAgeMs !== undefined ? { orphanMinAgeMs: options.orphanMinAgeMs } : {}),
      ...(options.outboundTimeoutMs !== undefined ? { outboundTimeoutMs: options.outboundTimeoutMs } : {}),
    });
    const host: LocalHost = await startLocalHost({
      runtime,
      registrations: options.registrations ?? defaultRegistrations,
      port: config.port,
      ...(options.timerClock !== undefined ? { timerClock: options.timerClock } : {}),
    });
    closers.push(host.close);
    return {
      brokerUrl: host.url,
      entra,
      keyVault,
      managedIdentity,
      webhookSink,
      storage,
      devops,
      graph,
      identities: { control, minting },
      caFile,
      appSettings,
      config,
      runtime,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The ready-to-paste commands printed at start. */
export function devBanner(stack: DevStack): string {
  const caller = DEV_CLIENTS[0];
  const api = `${stack.brokerUrl}/api`;
  return `
Token Broker dev stack is running: broker + Entra, managed-identity, Key Vault, Azure DevOps
and Microsoft Graph emulators, a webhook sink for expiry notices and Azurite (blob leases).
Everything is in this one process; Ctrl-C stops all of it.

  Broker      ${api}
  Entra       ${stack.entra.url}   (tenant ${stack.config.tenantId})
  Key Vault   ${stack.keyVault.url}
  Notices     ${stack.webhookSink.url}/hook, /teams   (webhook sink: notices are also logged as notice.sent)
  Storage     ${stack.storage.blobUrl}   (Azurite, in memory)
  Azure DevOps ${stack.devops.url}   (PAT API and connectionData; orgs ${DEV_DEVOPS_ORGANIZATIONS.map((o) => o.name).join(", ")})
  Graph       ${stack.graph.url}
  CA cert     ${stack.caFile}   (the emulators' self-signed CA, for curl --cacert)

1. Get a caller token, as the dev-caller app (client credentials):

  TOKEN=$(curl -s --cacert ${stack.caFile} ${stack.entra.tokenEndpoint} \\
    -d grant_type=client_credentials -d client_id=${caller?.clientId ?? ""} \\
    -d client_secret=${caller?.secret ?? ""} -d scope=${DEV_BROKER_AUDIENCE}/.default \\
    | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')

2. Ask the broker for an Entra token (minted with the broker's minting identity, never its control identity):

  curl -s ${api}/token -H "Authorization: Bearer $TOKEN" \\
    -H 'Content-Type: application/json' -d '{"profile":"ado-read"}'

3. Or for the sample PAT, ready for git:

  AUTH=$(curl -s ${api}/token -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
    -d '{"profile":"nuget-feed"}' | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).authorization')
  git -c http.extraheader="AUTHORIZATION: $AUTH" ls-remote https://dev.azure.com/contoso/project/_git/repo

4. The credential inventory, as dev-ops (role Inventory.Read; dev-admin also has Secrets.Admin):
   the token as in 1 with client_id=${DEV_CLIENTS[1]?.clientId ?? ""} and client_secret=${DEV_CLIENTS[1]?.secret ?? ""}, then

  curl -s "${api}/inventory?top=10" -H "Authorization: Bearer $OPS"

   or with the ops CLI:  TOKEN_BROKER_URL=${stack.brokerUrl} TOKEN_BROKER_TOKEN=$OPS npx token-broker inventory list

Profiles: ${stack.runtime.policy.profileNames().join(", ")}   (policy: ${stack.config.policyFile})
`;
}
