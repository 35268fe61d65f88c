import { AsyncLocalStorage } from "node:async_hooks";
import { writeSync } from "node:fs";

/**
 * Structured JSON log lines, one per event. Callers pass only metadata; as a second line of
 * defence every line is scrubbed of anything shaped like a JWT, a PAT or a Basic credential
 * before it is written, so a mistake upstream cannot put a credential in the logs.
 */

export type LogLevel = "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A line whose fields were prepared (serialised and scrubbed) once by `prepareFields`. */
  infoPrepared(event: string, fields: PreparedFields): void;
}

/** Fields already serialised and scrubbed, for lines repeated on a hot path. */
export interface PreparedFields {
  readonly json: string;
}

export function prepareFields(fields: LogFields): PreparedFields {
  return { json: redact(JSON.stringify(fields).slice(1, -1)) };
}

export type LogSink = (line: string) => void;

/** [marker that must be present, pattern, replacement]: the cheap marker test skips costly scans. */
const REDACTIONS: [string | undefined, RegExp, string][] = [
  // JWS/JWE compact serialisations: a base64url JSON header always starts with "eyJ".
  ["eyJ", /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_.-]*/g, "[redacted:jwt]"],
  // Azure DevOps PATs: the 84-character form with its AZDO signature, and the legacy base32 form.
  ["AZDO", /[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4}/g, "[redacted:pat]"],
  [undefined, /\b[a-z2-7]{52}\b/g, "[redacted:pat]"],
];

const BASIC_OR_BEARER = /\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{8,}/gi;

/** True if the text has a run of `min` base64url characters: every JWT segment and PAT has one. */
function hasLongRun(text: string, min: number): boolean {
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const word =
      (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;
    run = word ? run + 1 : 0;
    if (run >= min) return true;
  }
  return false;
}

export function redact(text: string): string {
  let out = text;
  // Most lines (identifiers, GUIDs, dates) have no long run: one linear scan skips every pattern.
  if (hasLongRun(out, 20)) {
    for (const [marker, pattern, replacement] of REDACTIONS) {
      if (marker === undefined || out.includes(marker)) out = out.replace(pattern, replacement);
    }
  }
  // Cheap substring tests first: the case-insensitive scan is the costly part.
  if (out.includes("asic") || out.includes("earer") || out.includes("ASIC") || out.includes("EARER")) {
    out = out.replace(BASIC_OR_BEARER, "$1 [redacted]");
  }
  return out;
}

function head(level: LogLevel, event: string): string {
  return `{"time":"${new Date().toISOString()}","level":"${level}","event":${JSON.stringify(event)}`;
}

function serialise(level: LogLevel, event: string, fields: LogFields | undefined): string {
  // Built by concatenation (no spread, no replacer: both slow every line). An Error passed by
  // mistake serialises as {} and leaks nothing.
  const rest = fields === undefined ? "" : JSON.stringify(fields).slice(1, -1);
  return redact(rest === "" ? `${head(level, event)}}` : `${head(level, event)},${rest}}`);
}

/** Errors are logged by name and code only: SDK messages may quote upstream bodies. */
export function describeError(error: unknown): { name: string; code?: string; status?: number } {
  if (!(error instanceof Error)) return { name: typeof error };
  const e = error as Error & { code?: unknown; statusCode?: unknown };
  return {
    name: e.name,
    ...(typeof e.code === "string" ? { code: e.code } : {}),
    ...(typeof e.statusCode === "number" ? { status: e.statusCode } : {}),
  };
}

/**
 * Lines are gathered and written every few milliseconds (or sooner past 64 KB): one write for
 * many requests under load instead of a syscall each. Whatever is pending is written
 * synchronously at exit; only a hard kill can lose the last few milliseconds.
 */
export function batchedSink(
  write: (chunk: string) => void,
  writeSync: (chunk: string) => void,
  flushMs = 10,
): LogSink {
  let pending: string[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    pendingBytes = 0;
    if (pending.length === 0) return;
    const chunk = pending.join("\n") + "\n";
    pending = [];
    write(chunk);
  };
  process.once("exit", () => {
    if (pending.length > 0) writeSync(pending.join("\n") + "\n");
    pending = [];
  });
  return (line) => {
    pending.push(line);
    pendingBytes += line.length;
    if (pendingBytes > 64 * 1024) {
      flush();
    } else if (!scheduled) {
      scheduled = true;
      setTimeout(flush, flushMs).unref();
    }
  };
}

let stdout: LogSink | undefined;
export const stdoutSink: LogSink = (line) => {
  stdout ??= batchedSink(
    (chunk) => process.stdout.write(chunk),
    (chunk) => writeSync(1, chunk),
  );
  stdout(line);
};

/**
 * Where the lines of one invocation go while it runs: in Azure its InvocationContext, so the host
 * records each line's severity and invocation id (raw stdout arrives as untied Information text).
 * Structural, so the domain needs no `@azure/functions`.
 */
export interface InvocationLog {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

interface InvocationScope {
  target: InvocationLog;
  open: boolean;
}

const invocation = new AsyncLocalStorage<InvocationScope>();

/**
 * Runs one invocation with its lines routed to `target`. Work it leaves running (a shared cache
 * refresh) outlives it: those later lines go back to the logger's own sink, since the host drops
 * an invocation's lines that arrive after its answer.
 */
export async function withInvocationLog<T>(target: InvocationLog, run: () => Promise<T>): Promise<T> {
  const scope: InvocationScope = { target, open: true };
  try {
    return await invocation.run(scope, run);
  } finally {
    scope.open = false;
  }
}

function emit(sink: LogSink, level: LogLevel, line: string): void {
  const scope = invocation.getStore();
  if (scope?.open !== true) sink(line);
  else if (level === "info") scope.target.log(line);
  else scope.target[level](line);
}

export function createLogger(sink: LogSink = stdoutSink): Logger {
  return {
    info: (event, fields) => emit(sink, "info", serialise("info", event, fields)),
    warn: (event, fields) => emit(sink, "warn", serialise("warn", event, fields)),
    error: (event, fields) => emit(sink, "error", serialise("error", event, fields)),
    // The head holds only the time, the level and our own event name: nothing to scrub.
    infoPrepared: (event, fields) => emit(sink, "info", `${head("info", event)},${fields.json}}`),
  };
}
