import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { CliError, UsageError } from "./errors.js";

/** The broker takes request bodies up to 64 KB; a larger value cannot be a credential anyway. */
const MAX_VALUE_BYTES = 32 * 1024;

export interface TerminalIn extends NodeJS.ReadableStream {
  isTTY?: boolean;
}

/**
 * The secret value for `import`: all of stdin when it is piped (one trailing newline dropped,
 * as `echo` and here-strings add one), or a prompt without echo on a terminal. Never argv: a
 * value there lands in shell history and in every `ps` listing.
 */
export async function readSecretValue(
  input: TerminalIn,
  prompt: NodeJS.WritableStream,
  label: string,
): Promise<string> {
  const value = input.isTTY === true ? await promptHidden(input, prompt, label) : await readAll(input);
  const trimmed = value.replace(/\r?\n$/, "");
  if (trimmed === "") throw new UsageError("no value: pipe the secret on stdin or type it at the prompt");
  if (/[\r\n]/.test(trimmed)) throw new UsageError("the value has more than one line");
  return trimmed;
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > MAX_VALUE_BYTES) throw new UsageError(`the value on stdin is over ${MAX_VALUE_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** readline in terminal mode on a muted output: line editing works, nothing is echoed. */
function promptHidden(input: TerminalIn, prompt: NodeJS.WritableStream, label: string): Promise<string> {
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input, output: muted, terminal: true });
  prompt.write(label);
  return new Promise<string>((resolve, reject) => {
    let answered = false;
    rl.on("SIGINT", () => {
      rl.close();
    });
    rl.on("close", () => {
      prompt.write("\n");
      if (!answered) reject(new CliError("cancelled"));
    });
    rl.question("", (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
  });
}

/** A yes/no question on a terminal; anything but y/yes is no. */
export function confirm(
  input: TerminalIn,
  prompt: NodeJS.WritableStream,
  question: string,
): Promise<boolean> {
  const rl = createInterface({ input, output: prompt, terminal: true });
  return new Promise<boolean>((resolve) => {
    let answered = false;
    rl.on("close", () => {
      if (!answered) {
        prompt.write("\n");
        resolve(false);
      }
    });
    rl.question(`${question} [y/N] `, (answer) => {
      answered = true;
      rl.close();
      resolve(/^y(es)?$/i.test(answer.trim()));
    });
  });
}
