import { InventoryError } from "../inventory/inventory-error.js";
import {
  ALL_ORGANIZATIONS,
  TAG,
  type CredentialKind,
  type InventoryItem,
} from "../inventory/managed-credential.js";
import type { UpstreamRevocation, UpstreamRevoker } from "../inventory/upstream-revoker.js";
import { parsePending } from "../inventory/pending-revoke.js";
import { parseVerifyPending } from "../inventory/verify-pending.js";
import { isOwnershipRefusal } from "./password-ownership.js";
import { RotationError } from "./rotation-error.js";
import type { Rotator } from "./rotator.js";

/** Revokes through the rotators: a PAT as the rotator's user, an app secret through Graph. */
export class RotatorRevoker implements UpstreamRevoker {
  constructor(private readonly rotators: Partial<Record<CredentialKind, Rotator>>) {}

  async revoke(item: InventoryItem, tags: Readonly<Record<string, string>>): Promise<UpstreamRevocation> {
    const rotator = this.rotators[item.kind];
    // A refresh token is revoked by revoking the user's sessions in Entra, not by the broker.
    if (rotator === undefined) return "not-applicable";
    const current = tags[rotator.upstreamIdTag];
    // A rotation's predecessor still in its grace period dies with the credential too, and so
    // does the proven secret handed out while a new one waits for verification.
    const pending = parsePending(tags[TAG.pendingRevoke]).map((p) => p.id);
    const proven = parseVerifyPending(tags[TAG.verifyPending])?.proven?.id;
    if (proven !== undefined && !pending.includes(proven)) pending.push(proven);
    if (current === undefined && pending.length === 0) return "not-applicable";
    if (item.kind === "pat" && (item.organization === null || item.organization === ALL_ORGANIZATIONS)) {
      return "not-configured";
    }
    try {
      // `revoked` only for what was removed now; what upstream already lacked is `not-found`.
      let outcome: UpstreamRevocation = "not-found";
      for (const id of pending) if ((await rotator.revoke(tags, id)) === "revoked") outcome = "revoked";
      if (current !== undefined) outcome = await rotator.revoke(tags, current);
      return outcome;
    } catch (error) {
      if (!(error instanceof RotationError)) throw error;
      if (error.code === "no_rotator_grant") return "not-configured";
      // Not ours to remove (or not the app it claims): a 4xx of its own, and the record stays.
      if (isOwnershipRefusal(error)) throw error;
      // Transient upstream trouble is 503 (try again); a refusal is 502 (someone must act).
      throw new InventoryError(error.transient ? "revocation_unavailable" : "revocation_failed");
    }
  }
}
