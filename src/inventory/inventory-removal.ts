import { toItem, type InventoryItem } from "./managed-credential.js";
import { statusRules, type InventoryOptions } from "./inventory-options.js";
import { managedSecret } from "./vault-lookup.js";
import type { UpstreamRevocation } from "./upstream-revoker.js";

export interface RemoveResult {
  name: string;
  deleted: true;
  upstreamRevocation: UpstreamRevocation;
  recoverableDays: number;
}

/** Revoke upstream first (a failure keeps the record: it is the only handle to retry), then soft-delete. */
export async function removeCredential(
  options: InventoryOptions,
  name: string,
  how: { skipUpstream: boolean },
): Promise<RemoveResult> {
  const current = await managedSecret(options.store, name);
  const item = toItem(current, statusRules(options)) as InventoryItem;
  const upstreamRevocation: UpstreamRevocation = how.skipUpstream
    ? "skipped"
    : await options.revoker.revoke(item, current.tags);
  const { recoverableDays } = await options.store.deleteSecret(name);
  return { name: item.name, deleted: true, upstreamRevocation, recoverableDays };
}
