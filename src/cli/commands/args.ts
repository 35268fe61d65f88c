import { InvalidArgumentError } from "commander";
import { SECRET_NAME } from "../../inventory/managed-credential.js";
import { UsageError } from "../errors.js";

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function guidArg(raw: string): string {
  if (!GUID.test(raw)) throw new InvalidArgumentError("must be a GUID.");
  return raw.toLowerCase();
}

/** The authority host: https (MSAL refuses anything else), an origin without path, user or query. */
export function authorityArg(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError("the authority host is not a URL");
  }
  if (url.protocol !== "https:" || url.username !== "" || url.password !== "") {
    throw new UsageError("the authority host must be https:// without a user name or password");
  }
  return url.origin;
}

export function nonBlank(value: string | undefined): string {
  return value?.trim() ?? "";
}

export function intArg(min: number, max: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw)) throw new InvalidArgumentError(`not a whole number.`);
    const n = Number(raw);
    if (n < min || n > max) throw new InvalidArgumentError(`must be ${min}-${max}.`);
    return n;
  };
}

export function nameArg(raw: string): string {
  if (!SECRET_NAME.test(raw)) throw new InvalidArgumentError("a name is 1-127 letters, digits and dashes.");
  return raw;
}

/** A day (taken as midnight UTC) or an ISO 8601 date-time with a zone; sent as ISO 8601 UTC. */
export function dateArg(raw: string): string {
  const dayOnly = /^\d{4}-\d{2}-\d{2}$/.test(raw);
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(raw);
  const time = Date.parse(dayOnly ? `${raw}T00:00:00Z` : raw);
  if ((!dayOnly && !withZone) || Number.isNaN(time)) {
    throw new InvalidArgumentError("use YYYY-MM-DD or an ISO 8601 date-time with a zone (…Z).");
  }
  return new Date(time).toISOString();
}

const RELATIVE_UNITS_MS: Readonly<Record<string, number>> = {
  h: 3600_000,
  d: 24 * 3600_000,
  w: 7 * 24 * 3600_000,
};

/**
 * An expiry: a duration from now (`30d`, `12h`, `2w`), so a script or an example never goes
 * stale, or a date as dateArg takes it. `now` is for tests.
 */
export function expiryArg(raw: string, now: () => number = Date.now): string {
  const relative = /^(\d{1,4})([hdw])$/i.exec(raw.trim());
  if (relative === null) {
    try {
      return dateArg(raw);
    } catch {
      throw new InvalidArgumentError(
        "use a duration from now (30d, 12h, 2w), YYYY-MM-DD or an ISO 8601 date-time with a zone (…Z).",
      );
    }
  }
  const n = Number(relative[1]);
  if (n === 0) throw new InvalidArgumentError("a duration from now must be more than 0.");
  const unit = RELATIVE_UNITS_MS[(relative[2] ?? "d").toLowerCase()] ?? 0;
  return new Date(now() + n * unit).toISOString();
}

export function listArg(raw: string): string[] {
  const list = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (list.length === 0) throw new InvalidArgumentError("an empty list.");
  return list;
}
