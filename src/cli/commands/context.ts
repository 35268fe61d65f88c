import type { Command } from "commander";
import type { BrokerClient } from "../broker-client.js";
import type { TerminalIn } from "../secret-input.js";
import type { Painter } from "../table.js";

export const PROG = "token-broker";

/** Everything the CLI touches outside itself, so tests can run it in-process too. */
export interface CliIo {
  stdin: TerminalIn;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
}

/** What every command module gets from the program: its io and the shared helpers. */
export interface CommandContext {
  io: CliIo;
  /** A broker client for the global options (--url, --scope) seen by this command. */
  client: (cmd: Command) => BrokerClient;
  paint: () => Painter;
  out: (text: string) => void;
  json: (value: unknown) => void;
}
