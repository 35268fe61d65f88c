/**
 * What the CLI can fail with. Every failure ends as one line on stderr, so messages are written
 * here by us and never quote a secret value or a token.
 */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    /** 1 for a failed operation, 2 for a usage error (as commander's own usage errors). */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  override name = "UsageError";
  constructor(message: string) {
    super(message, 2);
  }
}

/** One line: no newline may split a message, whatever a server or library put in it. */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
