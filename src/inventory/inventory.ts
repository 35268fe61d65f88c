import { underLease } from "../lease/lease-busy.js";
import { ROTATION_LEASE } from "../rotation/rotation-lease.js";
import type { CreatedBy } from "./creation.js";
import type { ImportRequest } from "./import-request.js";
import { InventoryImport } from "./inventory-import.js";
import {
  InventoryListing,
  type InventoryFilter,
  type InventoryPage,
  type VersionItem,
} from "./inventory-listing.js";
import type { InventoryOptions } from "./inventory-options.js";
import { removeCredential, type RemoveResult } from "./inventory-removal.js";
import type { InventoryItem } from "./managed-credential.js";

export type { InventoryFilter, InventoryPage, VersionItem } from "./inventory-listing.js";
export type { ClientSecretProver, InventoryOptions, UpstreamCreator } from "./inventory-options.js";
export type { RemoveResult } from "./inventory-removal.js";

/**
 * The credential inventory over the vault, the only store of record: listing pages through the
 * vault's own paging, imports and updates as secret versions with tags, revocation then soft delete.
 * Secrets not tagged `managed-by=token-broker` are invisible here: never listed, changed or deleted.
 *
 * Writes take the rotation lease, like the sweep and rotate-now: a sweep must not see a credential
 * half-made (and revoke it as an orphan), nor two writers overwrite each other's tags. While a
 * sweep holds it, a write throws LeaseBusyError before touching the vault.
 */
export class Inventory {
  private readonly listing: InventoryListing;
  private readonly imports: InventoryImport;

  constructor(private readonly options: InventoryOptions) {
    this.listing = new InventoryListing(options);
    this.imports = new InventoryImport(options);
  }

  list(filter: InventoryFilter, top: number, continuation: string | undefined): Promise<InventoryPage> {
    return this.listing.list(filter, top, continuation);
  }

  listAll(filter: InventoryFilter): Promise<InventoryItem[]> {
    return this.listing.listAll(filter);
  }

  get(name: string): Promise<InventoryItem> {
    return this.listing.get(name);
  }

  versions(name: string): Promise<VersionItem[]> {
    return this.listing.versions(name);
  }

  /** Import (201) or update (200), under the rotation lease. */
  put(
    name: string,
    request: ImportRequest,
    options: { recover: boolean; createOnly?: boolean; by?: CreatedBy },
  ): Promise<{ item: InventoryItem; created: boolean }> {
    return underLease(this.options.leases, ROTATION_LEASE, () => this.imports.put(name, request, options));
  }

  /** Revoke upstream, then soft-delete, under the rotation lease. */
  remove(name: string, options: { skipUpstream: boolean } = { skipUpstream: false }): Promise<RemoveResult> {
    return underLease(this.options.leases, ROTATION_LEASE, () =>
      removeCredential(this.options, name, options),
    );
  }
}
