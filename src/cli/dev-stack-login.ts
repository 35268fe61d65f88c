import { readFileSync } from "node:fs";
import { ClientCredentialsError, clientCredentialsToken } from "../net/client-credentials.js";
import { FetchRejectedError, FetchUnavailableError } from "../net/http-request.js";
import { isLoopbackUrl } from "../net/loopback.js";
import {
  devStackStateWire,
  devStateFile,
  type DevPersona,
  type DevStackState,
} from "../wire/dev-stack-state.js";
import { CliError, UsageError } from "./errors.js";

/**
 * `token-broker dev-token`: a caller token for a dev app, only from a dev stack running on this
 * machine at the broker URL. The dev stack says where it is in its state file
 * (src/wire/dev-stack-state.ts); anything else (another host, no stack, a stale file) is refused.
 */

const START = "start one with npm start";

/** The running dev stack at `broker`, from its state file; refuses anything that is not one. */
export function findDevStack(broker: URL, env: NodeJS.ProcessEnv): DevStackState {
  if (!isLoopbackUrl(broker)) {
    throw new UsageError(
      `dev-token works only against the dev stack on this machine, not ${broker.host}: use a loopback --url / TOKEN_BROKER_URL`,
    );
  }
  const file = devStateFile(env);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new CliError(`no dev stack is running (no ${file}); ${START}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const state = devStackStateWire.safeParse(parsed);
  if (!state.success) throw new CliError(`${file} is not a dev stack's state file; ${START}`);
  if (!processAlive(state.data.pid)) {
    throw new CliError(`no dev stack is running (the one that wrote ${file} is gone); ${START}`);
  }
  if (portOf(new URL(state.data.brokerUrl)) !== portOf(broker)) {
    throw new CliError(
      `no dev stack at ${broker.origin}: the running one is at ${state.data.brokerUrl} (--url / TOKEN_BROKER_URL)`,
    );
  }
  return state.data;
}

/** A caller token for the dev app of `persona`, from the dev stack's Entra emulator. */
export async function devStackToken(state: DevStackState, persona: DevPersona): Promise<string> {
  let ca: string;
  try {
    ca = readFileSync(state.caFile, "utf8");
  } catch {
    throw new CliError(`cannot read the dev stack's CA file ${state.caFile}; restart the dev stack`);
  }
  try {
    return await clientCredentialsToken({
      tokenEndpoint: state.tokenEndpoint,
      ...state.clients[persona],
      scope: state.scope,
      extraCa: ca,
      devStack: true,
    });
  } catch (error) {
    if (
      error instanceof ClientCredentialsError ||
      error instanceof FetchUnavailableError ||
      error instanceof FetchRejectedError
    ) {
      throw new CliError(`no token from the dev stack's Entra emulator: ${error.message}`);
    }
    throw error;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, only not ours to signal.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function portOf(url: URL): string {
  return url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80";
}
