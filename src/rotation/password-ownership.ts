import { TAG } from "../inventory/managed-credential.js";
import { RotationError } from "./rotation-error.js";

/**
 * Only what the broker made or was proven to hold (issue 16, confused deputy through Graph). The
 * broker's identity may change every application it owns; an admin's import must not turn that
 * into a way to remove someone else's password. So a password is removed only when it carries
 * this deployment's marker (the broker created it) or its keyId was proven at import (a real
 * client-credentials request with the value); and the application must be the one the credential
 * names (appId == recorded clientId) and, when the policy lists them, one of `rotation.applications`.
 */

/** Refusals: stable codes, 4xx answers, and nothing is added or removed. */
export const OWNERSHIP_REFUSALS = [
  "application_not_managed",
  "client_id_mismatch",
  "password_not_ours",
] as const;
export type OwnershipRefusal = (typeof OWNERSHIP_REFUSALS)[number];

export function isOwnershipRefusal(error: unknown): error is RotationError & { code: OwnershipRefusal } {
  return error instanceof RotationError && (OWNERSHIP_REFUSALS as readonly string[]).includes(error.code);
}

export const refuse = (code: OwnershipRefusal) => new RotationError(code, false);

/** The keyIds proven at import, from the `verified-key-ids` tag. */
export function verifiedKeyIds(tags: Readonly<Record<string, string>>): Set<string> {
  return new Set(
    (tags[TAG.verifiedKeyIds] ?? "")
      .split(" ")
      .map((id) => id.trim().toLowerCase())
      .filter((id) => id !== ""),
  );
}

/**
 * Sets `verified-key-ids` to the proven ids among `keep` (the current and pending keyIds): the
 * tag stays small (Key Vault: 256 characters) and never vouches for an id the credential forgot.
 */
export function keepVerified(tags: Record<string, string>, keep: readonly string[], add?: string): void {
  const proven = verifiedKeyIds(tags);
  if (add !== undefined) proven.add(add.toLowerCase());
  const kept = [...new Set(keep.map((id) => id.toLowerCase()))].filter((id) => proven.has(id));
  if (kept.length === 0) Reflect.deleteProperty(tags, TAG.verifiedKeyIds);
  else tags[TAG.verifiedKeyIds] = kept.join(" ");
}
