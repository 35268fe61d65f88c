import type { SecretProperties } from "../vault/secret-store.js";

/**
 * Who made a new credential version: an admin (the caller's audit identity, never a token) or the
 * broker's own rotation. What the owner's creation notice names.
 */
export type CreatedBy = { type: "admin"; caller: Readonly<Record<string, string>> } | { type: "rotation" };

/**
 * Tells the owner a new version exists (the creation notice). Called after the version is stored;
 * never throws: a failed delivery must not fail the write (the announcer logs it).
 */
export type CreationAnnouncer = (written: SecretProperties, by: CreatedBy) => Promise<void>;
