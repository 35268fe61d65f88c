import type { SecretStore, StoredSecret } from "../vault/secret-store.js";

/**
 * The `verify-pending` tag: this version holds a new client secret that Entra did not accept yet
 * (it takes seconds to ~10 minutes to reach every front end). Until a later pass proves it, the
 * broker keeps handing out the proven secret of an older version, which the tag names:
 * `<since, ISO seconds> [<proven version> [<proven keyId>]]`. Without a proven version (a
 * credential the broker just created) there is nothing older to hand out, so the new one is.
 */

/** TAG.verifyPending (defined here: managed-credential reads this module for the status). */
export const VERIFY_PENDING_TAG = "verify-pending";

export interface VerifyPending {
  /** Unix ms when the new secret was stored (its verification window starts). */
  since: number;
  /** The vault version with the working secret, and its upstream id (still live upstream). */
  proven?: { version: string; id?: string };
}

const SINCE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const VERSION = /^[0-9a-zA-Z]{1,64}$/;
const ID = /^[0-9a-f-]{36}$/i;

/** The tag's meaning, or undefined when it is missing or malformed (then the version is not pending). */
export function parseVerifyPending(tag: string | undefined): VerifyPending | undefined {
  if (tag === undefined) return undefined;
  const [since, version, id, ...rest] = tag.split(" ");
  if (since === undefined || !SINCE.test(since) || rest.length > 0) return undefined;
  const at = Date.parse(since);
  if (Number.isNaN(at)) return undefined;
  if (version === undefined) return { since: at };
  if (!VERSION.test(version) || (id !== undefined && !ID.test(id))) return undefined;
  return { since: at, proven: { version, ...(id !== undefined ? { id: id.toLowerCase() } : {}) } };
}

export function formatVerifyPending(p: VerifyPending): string {
  const since = new Date(Math.floor(p.since / 1000) * 1000).toISOString().replace(".000Z", "Z");
  if (p.proven === undefined) return since;
  return [since, p.proven.version, ...(p.proven.id !== undefined ? [p.proven.id.toLowerCase()] : [])].join(
    " ",
  );
}

/**
 * The secret to hand out under `name`: the latest version, unless that one still waits for Entra
 * to accept it; then the proven version it names. Every reader that hands a stored client secret
 * to Entra goes through here, so a secret pending verification is never used before it is proven.
 */
export async function issuableSecret(store: SecretStore, name: string): Promise<StoredSecret> {
  const latest = await store.getSecret(name);
  const pending = parseVerifyPending(latest.tags[VERIFY_PENDING_TAG]);
  if (pending?.proven === undefined) return latest;
  return store.getSecret(name, pending.proven.version);
}
