import { ClientSecretCredential } from "@azure/identity";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { extraCaPolicy } from "../../src/net/extra-ca-policy.js";
import {
  DEV_BROKER_AUDIENCE,
  DEV_CLIENTS,
  DEV_USER,
  type DevClient,
} from "../../src/local/dev-identities.js";
import { randomPat } from "../../src/local/sample-data.js";
import {
  DEV_POLICY_FILE,
  startDevStack,
  type DevStack,
  type DevStackOptions,
} from "../../src/local/dev-stack.js";
import { createLogger } from "../../src/log.js";

/** The dev stack in this test process, on ephemeral ports, with every log line kept for inspection. */
export interface TestStack extends DevStack {
  logs: string[];
  /** POST /api/token with JSON. */
  token(bearer: string | undefined, body: unknown, headers?: Record<string, string>): Promise<Response>;
  api(path: string, init?: RequestInit): Promise<Response>;
}

export async function startTestStack(
  env: Record<string, string> = {},
  options: Pick<
    DevStackOptions,
    | "now"
    | "noticeDelivery"
    | "rotationVerify"
    | "afterRotationStep"
    | "orphanMinAgeMs"
    | "deviceCodeIntervalSeconds"
    | "outboundTimeoutMs"
    | "timerClock"
    | "stateFile"
    | "driftSamples"
  > = {},
): Promise<TestStack> {
  const logs: string[] = [];
  const stack = await startDevStack({
    // Most suites count the samples: the drift ones only where a suite asks (test/dev-drift-samples).
    driftSamples: false,
    ...options,
    env: { PORT: "0", ...env },
    log: createLogger((line) => logs.push(line)),
  });
  const api = (p: string, init?: RequestInit) => fetch(`${stack.brokerUrl}/api${p}`, init);
  return Object.assign(stack, {
    logs,
    api,
    token: (bearer: string | undefined, body: unknown, headers: Record<string, string> = {}) =>
      api("/token", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(bearer !== undefined ? { authorization: `Bearer ${bearer}` } : {}),
          ...headers,
        },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
  });
}

export function devClient(name: string): DevClient {
  const client = DEV_CLIENTS.find((c) => c.name === name);
  if (client === undefined) throw new Error(`no dev client ${name}`);
  return client;
}

/** A caller token from the Entra emulator, fetched with the real ClientSecretCredential. */
export async function callerToken(stack: DevStack, name = "dev-caller"): Promise<string> {
  const client = devClient(name);
  const credential = new ClientSecretCredential(stack.config.tenantId, client.clientId, client.secret, {
    authorityHost: stack.entra.url,
    disableInstanceDiscovery: true,
    additionalPolicies: [{ policy: extraCaPolicy(readFileSync(stack.caFile, "utf8")), position: "perCall" }],
  });
  const token = await credential.getToken(`${DEV_BROKER_AUDIENCE}/.default`);
  return token.token;
}

/**
 * A PAT Azure DevOps (the stack's emulator) accepts in `organization`, as if its owner had made
 * it there: imports check a PAT value at connectionData before they store it.
 */
export function knownPat(
  stack: Pick<DevStack, "devops">,
  organization = "contoso",
  value = randomPat(),
): string {
  stack.devops.addPat(organization, {
    token: value,
    ownerObjectId: DEV_USER.objectId,
    displayName: "imported in a test",
    scope: "vso.code",
    validTo: new Date(Date.now() + 365 * 24 * 3600_000),
  });
  return value;
}

/** A scratch directory removed when the test process exits. */
export function scratchDir(prefix = "token-broker-test-"): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a policy file (the dev policy plus `extra` profiles and grants) and returns its path. */
export function writePolicy(extra: {
  profiles?: Record<string, unknown>;
  grants?: unknown[];
  rotation?: unknown;
}): string {
  const base = JSON.parse(readFileSync(DEV_POLICY_FILE, "utf8")) as { profiles: object; grants: unknown[] };
  const file = path.join(scratchDir(), "policy.json");
  writeFileSync(
    file,
    JSON.stringify({
      profiles: { ...base.profiles, ...extra.profiles },
      grants: [...base.grants, ...(extra.grants ?? [])],
      ...(extra.rotation !== undefined ? { rotation: extra.rotation } : {}),
    }),
  );
  return file;
}

/** Asserts no log line contains any of the canaries. */
export function logsContain(logs: readonly string[], canaries: readonly string[]): string[] {
  return canaries.filter((c) => logs.some((line) => line.includes(c)));
}

/** A caller token by a plain form POST (what `curl` does), with emulator-only extras such as token_version. */
export async function rawCallerToken(
  stack: DevStack,
  client: DevClient,
  extra: Record<string, string> = {},
): Promise<string> {
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: client.clientId,
    client_secret: client.secret,
    scope: `${DEV_BROKER_AUDIENCE}/.default`,
    ...extra,
  }).toString();
  const ca = readFileSync(stack.caFile, "utf8");
  const text = await new Promise<string>((resolve, reject) => {
    const req = https.request(
      stack.entra.tokenEndpoint,
      { method: "POST", ca, headers: { "content-type": "application/x-www-form-urlencoded" } },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (data += c));
        res.on("end", () => resolve(data));
      },
    );
    req.on("error", reject);
    req.end(form);
  });
  return (JSON.parse(text) as { access_token: string }).access_token;
}
