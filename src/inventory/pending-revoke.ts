/**
 * The `pending-revoke` tag: upstream ids (a PAT's authorizationId, an app password's keyId) that a
 * rotation replaced and that stay valid until their grace period ends, as `id@unixSeconds`
 * separated by spaces. Kept on the credential's current version, so the vault alone says what is
 * still to revoke: a crash never forgets one.
 */

export interface PendingRevoke {
  id: string;
  /** Unix ms after which it may be revoked. */
  after: number;
}

const ENTRY = /^([0-9a-f-]{36})@(\d{1,12})$/i;
/** Key Vault tag values hold 256 characters: five entries of 47. */
export const MAX_PENDING = 5;

export function parsePending(tag: string | undefined): PendingRevoke[] {
  const out: PendingRevoke[] = [];
  for (const part of (tag ?? "").split(" ")) {
    const m = ENTRY.exec(part);
    if (m?.[1] !== undefined && m[2] !== undefined)
      out.push({ id: m[1].toLowerCase(), after: Number(m[2]) * 1000 });
  }
  return out;
}

/** The tag value, or undefined when nothing is pending. Callers keep to MAX_PENDING: none is dropped. */
export function formatPending(entries: readonly PendingRevoke[]): string | undefined {
  if (entries.length > MAX_PENDING) throw new RangeError("too many pending revocations for one tag");
  const kept = [...entries].sort((a, b) => a.after - b.after);
  if (kept.length === 0) return undefined;
  return kept.map((e) => `${e.id}@${Math.floor(e.after / 1000)}`).join(" ");
}
