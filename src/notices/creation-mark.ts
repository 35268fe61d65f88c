import type { CreatedBy } from "../inventory/creation.js";
import { TAG } from "../inventory/managed-credential.js";
import type { SecretStore } from "../vault/secret-store.js";

/**
 * The `created-notice` tag of a version: `sent` once its owner was told; `unsent:rotation` or
 * `unsent:admin:<claim>=<id>` after a failed delivery, so the notice sweep sends it later, once.
 * A version without the tag (older than creation notices, or a crash before delivery) is left alone.
 */

export const SENT = "sent";
const UNSENT = "unsent:";

export function unsentMark(by: CreatedBy): string {
  if (by.type === "rotation") return `${UNSENT}rotation`;
  const claim = by.caller["oid"] !== undefined ? "oid" : "sub";
  // Key Vault tag values hold 256 characters.
  return `${UNSENT}admin:${claim}=${by.caller[claim] ?? ""}`.slice(0, 256);
}

/** Who made a version whose creation notice is still owed; undefined when none is. */
export function owedBy(tag: string | undefined): CreatedBy | undefined {
  if (tag?.startsWith(UNSENT) !== true) return undefined;
  const rest = tag.slice(UNSENT.length);
  if (rest === "rotation") return { type: "rotation" };
  const match = /^admin:(oid|sub)=(.*)$/s.exec(rest);
  return { type: "admin", caller: match?.[1] !== undefined ? { [match[1]]: match[2] ?? "" } : {} };
}

/** Marks the version, merged onto its tags as they are now; false if the credential has a newer version. */
export async function markCreation(
  store: SecretStore,
  name: string,
  version: string,
  mark: string,
): Promise<boolean> {
  const fresh = await store.getProperties(name);
  if (fresh.version !== version) return false;
  await store.updateProperties(name, version, { tags: { ...fresh.tags, [TAG.createdNotice]: mark } });
  return true;
}
