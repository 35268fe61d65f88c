import { PAT_SCOPES } from "../inventory/pat-scopes.js";
import { PROG } from "./commands/context.js";
import { oneLine } from "./errors.js";

/**
 * A 400 names the API's fields (`owner`, `expiresOn`); a person typed the CLI's flags. The
 * rules the broker states stay its own, only the names change. Unknown fields are shown as sent.
 */
const FLAGS: Readonly<Record<string, string>> = {
  kind: "--kind",
  value: "the value (stdin)",
  expiresOn: "--expires",
  owner: "--owner",
  organization: "--org",
  scopes: "--scopes",
  rotation: "--rotation",
  lifetimeDays: "--lifetime-days",
  authorizationId: "--authorization-id",
  applicationObjectId: "--application-object-id",
  keyId: "--key-id",
  clientId: "--client-id",
  clientType: "--client-type",
  clientSecretName: "--client-secret-name",
  lastRedeemed: "--last-redeemed",
  recover: "--recover",
  name: "the name",
  upstream: "--skip-upstream",
  status: "--status",
  expiringWithinDays: "--expiring-within",
  top: "--top",
  continuation: "--continuation",
};

/** The few scopes most PATs need, named first; the rest are in `import --help`. */
const COMMON_SCOPES = ["vso.code", "vso.packaging", "vso.build", "vso.work", "vso.release"];

export function flagOf(field: string): string | undefined {
  return FLAGS[field];
}

/** One field error in the CLI's words; `sent` is the request body, to name a bad scope. */
export function describeFieldError(
  error: { field: string; message: string },
  sent?: { scopes?: readonly string[] | undefined },
): string {
  const [head = error.field, index] = error.field.split(".");
  if (head === "scopes" && index !== undefined && /^\d+$/.test(index)) {
    const scope = sent?.scopes?.[Number(index)];
    if (scope !== undefined && !(PAT_SCOPES as readonly string[]).includes(scope)) {
      return unknownScope(scope);
    }
  }
  const flag = flagOf(head);
  return flag === undefined ? `${error.field}: ${error.message}` : `${flag} ${error.message}`;
}

export function unknownScope(scope: string): string {
  const known = COMMON_SCOPES.filter((s) => (PAT_SCOPES as readonly string[]).includes(s));
  return `--scopes: unknown scope ${oneLine(scope, 60)}; valid scopes include ${known.join(", ")} …; all ${PAT_SCOPES.length}: ${PROG} import --help (README, "Ops CLI")`;
}

/** Every scope the broker takes, wrapped for help text. */
export function scopeHelp(width = 96): string {
  const lines: string[] = [];
  let line = " ";
  for (const scope of PAT_SCOPES) {
    if (line.length + scope.length + 1 > width) {
      lines.push(line);
      line = " ";
    }
    line += ` ${scope}`;
  }
  lines.push(line);
  return lines.join("\n");
}
