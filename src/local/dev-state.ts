import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { clientCredentialsToken } from "../net/client-credentials.js";
import type { DevPersona, DevStackState } from "../wire/dev-stack-state.js";
import { DEV_BROKER_AUDIENCE, DEV_CLIENTS } from "./dev-identities.js";

/** What the state file needs of a running dev stack. */
export interface DevStateSource {
  brokerUrl: string;
  entra: { tokenEndpoint: string };
  caFile: string;
  config: { tenantId: string };
}

function app(persona: DevPersona): { clientId: string; secret: string } {
  const client = DEV_CLIENTS.find((c) => c.name === `dev-${persona}`);
  if (client === undefined) throw new Error(`no dev app dev-${persona}`);
  return { clientId: client.clientId, secret: client.secret };
}

export function devStackState(stack: DevStateSource): DevStackState {
  return {
    version: 1,
    pid: process.pid,
    brokerUrl: stack.brokerUrl,
    tokenEndpoint: stack.entra.tokenEndpoint,
    caFile: stack.caFile,
    tenantId: stack.config.tenantId,
    scope: `${DEV_BROKER_AUDIENCE}/.default`,
    clients: { admin: app("admin"), ops: app("ops"), caller: app("caller") },
  };
}

/**
 * Writes the state file (private to this user) and returns what removes it at close: only while
 * it is still this process's, so a second dev stack's file is not removed by the first.
 */
export function writeDevState(file: string, state: DevStackState): () => void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  return () => {
    try {
      const current = JSON.parse(readFileSync(file, "utf8")) as { pid?: unknown };
      if (current.pid === state.pid) rmSync(file, { force: true });
    } catch {
      // Gone already, or not ours to judge: nothing to remove.
    }
  };
}

/** A caller token for a dev app, from the Entra emulator (what `dev-token --as` gets). */
export function devStackToken(stack: DevStateSource, persona: DevPersona): Promise<string> {
  const state = devStackState(stack);
  return clientCredentialsToken({
    tokenEndpoint: state.tokenEndpoint,
    ...state.clients[persona],
    scope: state.scope,
    extraCa: readFileSync(state.caFile, "utf8"),
    devStack: true,
  });
}
