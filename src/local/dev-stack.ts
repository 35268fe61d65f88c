import { loadConfig, type BrokerConfig } from "../config.js";
import { registrations as defaultRegistrations, type Registrations } from "../functions/registrations.js";
import { createLogger, type Logger } from "../log.js";
import { createRuntime, type Runtime, type RuntimeOptions } from "../runtime.js";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startDevEmulators, type DevEmulators } from "./dev-emulators.js";
import { devStackState, devStackToken, writeDevState } from "./dev-state.js";
import { DEV_BROKER_AUDIENCE, DEV_CLIENTS, DEV_DEVOPS_ORGANIZATIONS } from "./dev-identities.js";
import { startLocalHost, type LocalHost, type LocalHostOptions } from "./host.js";

/**
 * `npm start` without KEY_VAULT_URL: every emulator, sample data and the broker in one process,
 * like `vault server -dev`. Settings from the environment still win over the dev defaults.
 */

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const DEV_POLICY_FILE = path.join(PACKAGE_ROOT, "policy", "dev.json");

/** The emulators (see DevEmulators) and the broker running on them. */
export interface DevStack extends Omit<DevEmulators, "tenantId" | "ca"> {
  brokerUrl: string;
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
  /** Where to leave the state `token-broker dev-token` reads (removed at close); none if unset. */
  stateFile?: string;
  /** The drift samples (an unstored upstream PAT, a retired global PAT): on unless false (tests). */
  driftSamples?: boolean;
  /** Bench: metrics of its own (NO_METRICS: off); default the process's meter provider. */
  metrics?: RuntimeOptions["metrics"];
}

export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const env = options.env ?? process.env;
  const log = options.log ?? createLogger();
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    const emulators = await startDevEmulators(
      {
        env,
        now: options.now,
        deviceCodeIntervalSeconds: options.deviceCodeIntervalSeconds,
        driftSamples: options.driftSamples !== false,
      },
      closers,
    );
    const { tenantId, entra, keyVault, managedIdentity, webhookSink, storage, devops, graph, caFile } =
      emulators;
    const { control, minting } = emulators.identities;

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
      extraCa: emulators.ca,
      log,
      ...(options.now !== undefined ? { now: options.now } : {}),
      ...(options.noticeDelivery !== undefined ? { noticeDelivery: options.noticeDelivery } : {}),
      ...(options.rotationVerify !== undefined ? { rotationVerify: options.rotationVerify } : {}),
      ...(options.afterRotationStep !== undefined ? { afterRotationStep: options.afterRotationStep } : {}),
      ...(options.orphanMinAgeMs !== undefined ? { orphanMinAgeMs: options.orphanMinAgeMs } : {}),
      ...(options.outboundTimeoutMs !== undefined ? { outboundTimeoutMs: options.outboundTimeoutMs } : {}),
      ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
    });
    const host: LocalHost = await startLocalHost({
      runtime,
      registrations: options.registrations ?? defaultRegistrations,
      port: config.port,
      ...(options.timerClock !== undefined ? { timerClock: options.timerClock } : {}),
    });
    closers.push(host.close);
    if (options.stateFile !== undefined) {
      const state = devStackState({ brokerUrl: host.url, entra, caFile, config });
      closers.push(writeDevState(options.stateFile, state));
    }
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

/**
 * The ready-to-paste commands printed at start, with an export line holding a dev-admin token
 * minted now from the Entra emulator (valid for an hour: `dev-token` gets the next one).
 */
export async function devBanner(stack: DevStack): Promise<string> {
  const caller = DEV_CLIENTS[0];
  const api = `${stack.brokerUrl}/api`;
  const admin = await devStackToken(stack, "admin");
  return `
Token Broker dev stack is running: broker + Entra, managed-identity, Key Vault, Azure DevOps
and Microsoft Graph emulators, a webhook sink for expiry notices and Azurite (blob leases).
Everything is in this one process; Ctrl-C stops all of it.

  Broker      ${api}
  Entra       ${stack.entra.url}   (tenant ${stack.config.tenantId})
  Key Vault   ${stack.keyVault.url}
  Notices     ${stack.webhookSink.url}/hook, /teams   (webhook sink; read back: curl ${stack.webhookSink.url}/hook; also logged as notice.sent)
  Storage     ${stack.storage.blobUrl}   (Azurite, in memory)
  Azure DevOps ${stack.devops.url}   (PAT API and connectionData; orgs ${DEV_DEVOPS_ORGANIZATIONS.map((o) => o.name).join(", ")})
  Graph       ${stack.graph.url}
  CA cert     ${stack.caFile}   (the emulators' self-signed CA, for curl --cacert)

The ops CLI, signed in as dev-admin (Inventory.Read and Secrets.Admin) for the next hour:

  export TOKEN_BROKER_URL=${stack.brokerUrl} TOKEN_BROKER_TOKEN=${admin}

  token-broker whoami
  token-broker inventory list      # pat-legacy-all-orgs is retired: a global PAT (gone since 2026-12-01)
  token-broker rotate pat-legacy-all-orgs --org contoso   # migrates it to a PAT for contoso
  token-broker drift               # hand-made-feed-token: a PAT upstream that nobody stored
  eval "$(token-broker dev-token --as admin)"   # a new token after the hour; --as ops, --as caller: the other apps

1. Get a caller token, as the dev-caller app (client credentials; the same as
   TOKEN=$(token-broker dev-token --as caller --output value)):

  TOKEN=$(curl -s --cacert ${stack.caFile} ${stack.entra.tokenEndpoint} \\
    -d grant_type=client_credentials -d client_id=${caller?.clientId ?? ""} \\
    -d client_secret=${caller?.secret ?? ""} -d scope=${DEV_BROKER_AUDIENCE}/.default \\
    | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')

2. Ask the broker for an Entra token (minted with the broker's minting identity, never its control identity):

  curl -s ${api}/token -H "Authorization: Bearer $TOKEN" \\
    -H 'Content-Type: application/json' -d '{"profile":"ado-read"}'

3. Or git, through the broker's credential helper (npm run build && npm link puts it on PATH;
   git asks the broker for the sample PAT whenever that URL wants a credential, nothing in argv):

  TOKEN_BROKER_TOKEN="$TOKEN" git -c credential.https://dev.azure.com/contoso.helper="token-broker --profile nuget-feed" \\
    ls-remote https://dev.azure.com/contoso/project/_git/repo

4. The credential inventory on the wire, with the token of the export line (dev-ops has Inventory.Read and Policy.Read:
   eval "$(token-broker dev-token --as ops)"):

  curl -s "${api}/inventory?top=10" -H "Authorization: Bearer $TOKEN_BROKER_TOKEN"
  curl -s ${api}/whoami -H "Authorization: Bearer $TOKEN_BROKER_TOKEN"

Profiles: ${stack.runtime.policy.profileNames().join(", ")}   (policy: ${stack.config.policyFile})
`;
}
