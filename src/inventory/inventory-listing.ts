import { allSecrets, type SecretProperties } from "../vault/secret-store.js";
import { decodePosition, encodePosition } from "./continuation.js";
import {
  TAG,
  toItem,
  type CredentialKind,
  type CredentialStatus,
  type InventoryItem,
  type StatusRules,
} from "./managed-credential.js";
import { DAY_MS, statusRules, type InventoryOptions } from "./inventory-options.js";
import { managedSecret } from "./vault-lookup.js";

export interface InventoryFilter {
  kind?: CredentialKind | undefined;
  status?: CredentialStatus | undefined;
  owner?: string | undefined;
  /** Expires within this many days from now, or has already expired. */
  expiringWithinDays?: number | undefined;
}

export interface InventoryPage {
  items: InventoryItem[];
  continuation: string | null;
}

export interface VersionItem {
  version: string;
  current: boolean;
  enabled: boolean;
  expiresOn: string | null;
  createdOn: string | null;
  updatedOn: string | null;
  rotatedOn: string | null;
  authorizationId?: string;
  keyId?: string;
}

/** Reading the inventory: pages through the vault's own paging, one credential, its versions. */
export class InventoryListing {
  private readonly maxPages: number;

  constructor(private readonly options: InventoryOptions) {
    this.maxPages = options.maxVaultPagesPerCall ?? 40;
  }

  /**
   * Up to `top` matching items from where `continuation` left off. A page can hold fewer than
   * `top` items (a sparse filter over a large vault); the listing ends when continuation is null.
   */
  async list(filter: InventoryFilter, top: number, continuation: string | undefined): Promise<InventoryPage> {
    const { store } = this.options;
    const start =
      continuation !== undefined
        ? decodePosition(continuation, (p) => store.isOwnContinuation(p))
        : { page: undefined, after: undefined };
    const rules = statusRules(this.options);
    const matches = matcher(filter, rules);
    const items: InventoryItem[] = [];
    let page = start.page;
    let after = start.after?.toLowerCase();
    for (let read = 0; read < this.maxPages; read++) {
      const { items: secrets, next } = await store.listPage(page);
      let i = after === undefined ? 0 : resumeIndex(secrets, after);
      for (; i < secrets.length; i++) {
        const secret = secrets[i] as SecretProperties;
        const item = toItem(secret, rules);
        if (item === undefined || !matches(item)) continue;
        items.push(item);
        if (items.length === top) {
          const more = i + 1 < secrets.length;
          if (more) return { items, continuation: encodePosition({ page, after: secret.name }) };
          return {
            items,
            continuation: next === undefined ? null : encodePosition({ page: next, after: undefined }),
          };
        }
      }
      after = undefined;
      if (next === undefined) return { items, continuation: null };
      page = next;
    }
    return { items, continuation: encodePosition({ page, after: undefined }) };
  }

  /** Every matching item (exports). */
  async listAll(filter: InventoryFilter): Promise<InventoryItem[]> {
    const rules = statusRules(this.options);
    const matches = matcher(filter, rules);
    const items: InventoryItem[] = [];
    for await (const secret of allSecrets(this.options.store)) {
      const item = toItem(secret, rules);
      if (item !== undefined && matches(item)) items.push(item);
    }
    return items;
  }

  async get(name: string): Promise<InventoryItem> {
    return toItem(await managedSecret(this.options.store, name), statusRules(this.options)) as InventoryItem;
  }

  async versions(name: string): Promise<VersionItem[]> {
    const current = await managedSecret(this.options.store, name);
    const versions = await this.options.store.listVersions(name);
    versions.sort((a, b) => (b.createdOn?.getTime() ?? 0) - (a.createdOn?.getTime() ?? 0));
    return versions.map((v) => ({
      version: v.version,
      current: v.version === current.version,
      enabled: v.enabled,
      expiresOn: v.expiresOn?.toISOString() ?? null,
      createdOn: v.createdOn?.toISOString() ?? null,
      updatedOn: v.updatedOn?.toISOString() ?? null,
      rotatedOn: v.tags[TAG.rotatedOn] ?? null,
      ...(v.tags[TAG.authorizationId] !== undefined ? { authorizationId: v.tags[TAG.authorizationId] } : {}),
      ...(v.tags[TAG.keyId] !== undefined ? { keyId: v.tags[TAG.keyId] } : {}),
    }));
  }
}

function matcher(filter: InventoryFilter, rules: StatusRules): (item: InventoryItem) => boolean {
  const owner = filter.owner?.toLowerCase();
  const horizon =
    filter.expiringWithinDays !== undefined ? rules.now + filter.expiringWithinDays * DAY_MS : undefined;
  return (item) =>
    (filter.kind === undefined || item.kind === filter.kind) &&
    (filter.status === undefined || item.status === filter.status) &&
    (owner === undefined || item.owner?.toLowerCase() === owner) &&
    (horizon === undefined || (item.expiresOn !== null && Date.parse(item.expiresOn) <= horizon));
}

/** Where to carry on within a vault page: after the last name consumed (pages are in name order). */
function resumeIndex(secrets: readonly SecretProperties[], after: string): number {
  const exact = secrets.findIndex((s) => s.name.toLowerCase() === after);
  if (exact >= 0) return exact + 1;
  const later = secrets.findIndex((s) => s.name.toLowerCase() > after);
  return later >= 0 ? later : secrets.length;
}
