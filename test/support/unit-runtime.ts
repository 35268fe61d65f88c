import { writeFileSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import type { BrokerRequest } from "../../src/http/types.js";
import { scratchDir } from "./dev-stack.js";

/**
 * A real runtime for unit tests: building one contacts nothing (vault, Entra and upstreams are
 * only reached when a handler calls them), and its log lines are collected as parsed JSON.
 */
export function unitRuntime(policy: { profiles?: object; grants?: object[] } = {}): {
  rt: Runtime;
  lines: Record<string, unknown>[];
} {
  const file = path.join(scratchDir(), "policy.json");
  writeFileSync(file, JSON.stringify({ profiles: {}, grants: [], ...policy }));
  const lines: Record<string, unknown>[] = [];
  const rt = createRuntime(
    loadConfig({
      KEY_VAULT_URL: "https://kv-broker.vault.azure.net/",
      BROKER_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      BROKER_AUDIENCE: "api://token-broker",
      BROKER_POLICY_FILE: file,
    }),
    { log: createLogger((line) => lines.push(JSON.parse(line) as Record<string, unknown>)) },
  );
  return { rt, lines };
}

export function brokerRequest(fields: Partial<BrokerRequest> = {}): BrokerRequest {
  return {
    method: "GET",
    path: "/",
    query: new URLSearchParams(),
    headers: {},
    params: {},
    body: new Uint8Array(),
    ...fields,
  };
}
