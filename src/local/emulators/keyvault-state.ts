import { randomBytes } from "node:crypto";

/** The Key Vault emulator's secrets: versions, soft delete, and the lookups its routes share. */

export const NAME = /^[0-9a-zA-Z-]{1,127}$/;
export const MAX_VALUE_BYTES = 25 * 1024;
export const MAX_PAGE = 25;

export interface Attributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
}

export interface Version {
  id: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  attributes: Attributes;
}

export interface Secret {
  name: string;
  versions: Version[];
  deleted?: { deletedDate: number; scheduledPurgeDate: number };
}

export class KvError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly inner?: string,
  ) {
    super(message);
  }
}

export function createSecretState(origin: () => string) {
  // Names are case-insensitive in Key Vault: keyed by lower case, first spelling kept.
  const secrets = new Map<string, Secret>();

  function secretOf(name: string, deleted: boolean): Secret {
    const s = secrets.get(name.toLowerCase());
    if (s === undefined || (s.deleted !== undefined) !== deleted) {
      throw deleted
        ? new KvError(404, "SecretNotFound", `Deleted Secret not found: ${name}`)
        : new KvError(
            404,
            "SecretNotFound",
            `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`,
          );
    }
    return s;
  }

  const latest = (s: Secret): Version => s.versions[s.versions.length - 1] as Version;

  const sortedSecrets = (deleted: boolean | "all") =>
    [...secrets.entries()]
      .filter(([, s]) => deleted === "all" || (s.deleted !== undefined) === deleted)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, s]) => s);

  /**
   * A secret deleted while disabled cannot be read in its deleted form either; the service says
   * AccessDenied, not SecretDisabled (recorded: `can update a disabled secret`,
   * `cant get a disabled secret`), so only the deleted listing tells it from a missing permission.
   */
  function refuseDisabledDeleted(s: Secret): void {
    if (!latest(s).attributes.enabled) {
      throw new KvError(403, "Forbidden", "Operation get is not permitted on this object.", "AccessDenied");
    }
  }

  function newVersionId(name: string): string {
    return `${origin()}/secrets/${name}/${randomBytes(16).toString("hex")}`;
  }

  return { secrets, secretOf, latest, sortedSecrets, refuseDisabledDeleted, newVersionId };
}
export type SecretState = ReturnType<typeof createSecretState>;
