import { TAG } from "./managed-credential.js";
import { formatPending, MAX_PENDING, parsePending } from "./pending-revoke.js";
import { keepVerified } from "../rotation/password-ownership.js";

/** A credential got a new value: by import, by rotation, or by a pending one being promoted. */
export interface NewValue {
  /** Upstream ids of what it replaces (undefined entries are skipped): each waits out the grace in `pending-revoke`. */
  replaced: readonly (string | undefined)[];
  now: number;
  graceMs: number;
  /** A first import: nothing was rotated, so no `rotated-on`. */
  first?: boolean;
  /** More tags that describe the previous value only (e.g. its upstream ids). */
  stale?: readonly string[];
  /** A version pending verification promoted where it is: the notices sent for that version stay sent. */
  promoted?: boolean;
}

/**
 * The tags of the version that holds the new value, over `base`: the replaced ids wait in
 * `pending-revoke` (the one handed out until now may still sit in callers' caches), the error,
 * notice and verification markers of the previous value are cleared, `rotated-on` is now, and
 * proofs of imported keyIds are kept only while those still wait to be revoked. Undefined when
 * `pending-revoke` has no room: an old credential is never forgotten to make some.
 */
export function newValueTags(
  base: Readonly<Record<string, string>>,
  change: NewValue,
): Record<string, string> | undefined {
  const pending = parsePending(base[TAG.pendingRevoke]);
  for (const id of change.replaced) {
    if (id === undefined) continue;
    const lower = id.toLowerCase();
    if (!pending.some((p) => p.id === lower)) pending.push({ id: lower, after: change.now + change.graceMs });
  }
  if (pending.length > MAX_PENDING) return undefined;
  const tags: Record<string, string> = { ...base };
  const stale = [
    ...(change.stale ?? []),
    TAG.rotationError,
    TAG.verifyPending,
    TAG.pendingRevoke,
    ...(change.promoted === true ? [] : [TAG.noticeSentFor, TAG.createdNotice]),
  ];
  for (const key of stale) Reflect.deleteProperty(tags, key);
  const pendingTag = formatPending(pending);
  if (pendingTag !== undefined) tags[TAG.pendingRevoke] = pendingTag;
  if (change.first !== true) tags[TAG.rotatedOn] = new Date(change.now).toISOString();
  keepVerified(
    tags,
    pending.map((p) => p.id),
  );
  return tags;
}
