import { isLoopbackUrl } from "../net/loopback.js";
import { CliError, oneLine } from "./errors.js";

/**
 * git's credential helper protocol (git-credential(1), "INPUT/OUTPUT FORMAT"): `key=value` lines,
 * ended by a blank line or the end of input; `key[]` keys repeat. Parsed strictly here: what git
 * sends is small and regular, so anything else is refused rather than guessed at.
 */

/** git's own bound on one line, its newline included. */
export const MAX_LINE_BYTES = 65_535;
/** The whole description: a few short lines plus any WWW-Authenticate challenges. */
export const MAX_INPUT_BYTES = 256 * 1024;

/** What the helper reads of git's description; everything else (wwwauth[], password…) is dropped. */
export interface CredentialDescription {
  protocol?: string;
  host?: string;
  path?: string;
  username?: string;
  /** `capability[]` values git announced (e.g. `authtype`, git 2.46+). */
  capabilities: string[];
}

const KEPT = ["protocol", "host", "path", "username"] as const;

/** The end of the description in `bytes` (index after its blank line), or -1 while it goes on. */
export function descriptionEnd(bytes: Buffer): number {
  if (bytes[0] === 0x0a) return 1;
  const i = bytes.indexOf("\n\n");
  return i < 0 ? -1 : i + 2;
}

/** Parses git's description; throws a CliError naming the rule broken (never the value). */
export function parseDescription(bytes: Buffer): CredentialDescription {
  if (bytes.length > MAX_INPUT_BYTES) throw new CliError(`input over ${MAX_INPUT_BYTES} bytes`);
  if (bytes.includes(0)) throw new CliError("input contains a NUL byte");
  const end = descriptionEnd(bytes);
  const text = bytes.subarray(0, end < 0 ? bytes.length : end).toString("utf8");
  const lines = text.split("\n");
  // The last element is what follows the final newline: empty, or an unterminated last line.
  if (lines.at(-1) === "") lines.pop();
  const single = new Map<string, string>();
  const arrays = new Map<string, string[]>();
  for (const [n, raw] of lines.entries()) {
    if (Buffer.byteLength(raw) + 1 > MAX_LINE_BYTES) throw new CliError(`line ${n + 1} is too long`);
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "") break;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new CliError(`line ${n + 1} is not key=value`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (!/^[A-Za-z0-9_.-]+(\[\])?$/.test(key)) throw new CliError(`line ${n + 1} has an unusual key`);
    if (key.endsWith("[]")) {
      // An empty value resets the list (git-credential(1)).
      arrays.set(key, value === "" ? [] : [...(arrays.get(key) ?? []), value]);
    } else {
      if (single.has(key)) throw new CliError(`key ${oneLine(key, 40)} is repeated`);
      single.set(key, value);
    }
  }
  const description: CredentialDescription = { capabilities: arrays.get("capability[]") ?? [] };
  for (const key of KEPT) {
    const value = single.get(key);
    if (value !== undefined) description[key] = value;
  }
  return description;
}

/**
 * Refuses a description the credential must not go to: anything but https, or plain http to a
 * host other than loopback, where it would travel in clear.
 */
export function assertSafeDestination(d: CredentialDescription): void {
  if (d.protocol === undefined || d.host === undefined || d.host === "") {
    throw new CliError("git sent no protocol and host: refusing to hand a credential for an unknown place");
  }
  if (d.protocol === "https") return;
  if (d.protocol === "http") {
    if (loopbackHost(d.host)) return;
    throw new CliError(
      `refusing to hand a credential for http://${oneLine(d.host, 100)}: it would travel in clear; use https://`,
    );
  }
  throw new CliError(`refusing to hand a credential for protocol=${oneLine(d.protocol, 20)} (https only)`);
}

function loopbackHost(host: string): boolean {
  try {
    const url = new URL(`http://${host}/`);
    // The host must be all there is: "127.0.0.1@evil.example" parses with a user part.
    return url.username === "" && url.password === "" && url.pathname === "/" && isLoopbackUrl(url);
  } catch {
    return false;
  }
}

/** The credential as the helper answers `get` with it. */
export interface HelperCredential {
  /** The PAT or the access token. */
  token: string;
  /** `Basic` for a PAT, `Bearer` for an Entra access token (the broker's token_type). */
  tokenType: "Basic" | "Bearer";
  expiresOn: Date;
}

/** The user name sent with a PAT or token when git has none: Azure DevOps ignores it. */
export const DEFAULT_USERNAME = "token-broker";

/**
 * The answer to `get`. An Entra token goes as `authtype=Bearer` + `credential` when git announced
 * `capability[]=authtype`, else as the password (Azure Repos accepts an access token there); a
 * PAT is always a user name and password. `password_expiry_utc` lets git (2.41+) drop it in time.
 */
export function formatAnswer(d: CredentialDescription, c: HelperCredential): string {
  const expiry = `password_expiry_utc=${Math.floor(c.expiresOn.getTime() / 1000)}\n`;
  if (c.tokenType === "Bearer" && d.capabilities.includes("authtype")) {
    // ephemeral: a token of a day is not worth storing by any helper after us.
    return `capability[]=authtype\nauthtype=Bearer\ncredential=${c.token}\nephemeral=true\n${expiry}`;
  }
  const username = d.username !== undefined && d.username !== "" ? d.username : DEFAULT_USERNAME;
  return `username=${username}\npassword=${c.token}\n${expiry}`;
}
