import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The compiled CLI, run as a process the way `token-broker` runs it. */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/cli/main.js");

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in a clean environment: no Azure login or colour settings of the machine leak in. */
export function runCli(args: string[], env: Record<string, string>, stdin = ""): Promise<Ran> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  child.stdin.end(stdin);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Exit code 1 (or `code`) and exactly one line on stderr, nothing on stdout. */
export function assertOneLineFailure(r: Ran, pattern: RegExp, code = 1): void {
  assert.equal(r.code, code, r.stderr);
  assert.match(r.stderr, /^token-broker: [^\n]+\n$/);
  assert.match(r.stderr, pattern);
  assert.equal(r.stdout, "");
}
