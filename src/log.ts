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
}

export type LogSink = (line: string) => void;

const REDACTIONS: [RegExp, string][] = [
  // JWS/JWE compact serialisations: a base64url JSON header always starts with "eyJ".
  [/eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_.-]*/g, "[redacted:jwt]"],
  // Azure DevOps PATs: the 84-character form with its AZDO signature, and the legacy base32 form.
  [/[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4}/g, "[redacted:pat]"],
  [/(?<![A-Za-z0-9])[a-z2-7]{52}(?![A-Za-z0-9])/g, "[redacted:pat]"],
  [/\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{8,}/gi, "$1 [redacted]"],
];

export function redact(text: string): string {
  let out = text;
  for (const [pattern, replacement] of REDACTIONS) out = out.replace(pattern, replacement);
  return out;
}

function serialise(level: LogLevel, event: string, fields: LogFields | undefined): string {
  const record = { time: new Date().toISOString(), level, event, ...fields };
  return redact(
    JSON.stringify(record, (_key, value: unknown) => (value instanceof Error ? describeError(value) : value)),
  );
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

export const stdoutSink: LogSink = (line) => {
  process.stdout.write(line + "\n");
};

export function createLogger(sink: LogSink = stdoutSink): Logger {
  return {
    info: (event, fields) => sink(serialise("info", event, fields)),
    warn: (event, fields) => sink(serialise("warn", event, fields)),
    error: (event, fields) => sink(serialise("error", event, fields)),
  };
}
