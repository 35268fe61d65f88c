import {
  allSecrets,
  SecretNotFoundError,
  type SecretProperties,
  type SecretStore,
} from "../vault/secret-store.js";
import { formatPending, MAX_PENDING, parsePending } from "./pending-revoke.js";
import { parseVerifyPending } from "./verify-pending.js";
import { decodePosition, encodePosition } from "./continuation.js";
import type { ImportRequest } from "./import-request.js";
import { InventoryError } from "./inventory-error.js";
import {
  ALL_ORGANIZATIONS,
  CONTENT_TYPES,
  REFRESH_TOKEN_INACTIVITY_MS,
  isManaged,
  MANAGED_BY,
  TAG,
  toItem,
  type CredentialKind,
  type CredentialStatus,
  type InventoryItem,
  type StatusRules,
} from "./managed-credential.js";
import type { UpstreamRevocation, UpstreamRevoker } from "./upstream-revoker.js";
import { keepVerified } from "../rotation/password-ownership.js";

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

export interface RemoveResult {
  name: string;
  deleted: true;
  upstreamRevocation: UpstreamRevocation;
  recoverableDays: number;
}

/** Creates a credential upstream and proves it works (rotation's first steps), for imports without a value. */
export type UpstreamCreator = (
  kind: CredentialKind,
  name: string,
  tags: Readonly<Record<string, string>>,
) => Promise<{
  value: string;
  expiresOn: Date;
  upstreamId: string;
  upstreamIdTag: string;
  /** The upstream id, and `verify-pending` when upstream does not accept it yet. */
  tags: Record<string, string>;
  /** Revokes it again (best effort): it could not be stored, so nobody will ever hold it. */
  discard: () => Promise<void>;
}>;

/**
 * Client secrets: refuses (RotationError application_not_managed / client_id_mismatch) an app the
 * broker may not manage; true when `value` is proven to be the recorded keyId's, so the broker may
 * remove that password later.
 */
export type ClientSecretProver = (
  tags: Readonly<Record<string, string>>,
  value: string | undefined,
) => Promise<boolean>;

export interface InventoryOptions {
  store: SecretStore;
  /** Absent: no client secret is ever proven (the broker then never removes an imported one). */
  proveClientSecret?: ClientSecretProver;
  /** Absent: imports must carry a value. */
  creator?: UpstreamCreator;
  revoker: UpstreamRevoker;
  now: () => number;
  /** Auto rotation starts this many days before expiry: an auto credential must live longer. */
  rotateBeforeDays?: number;
  /** How long a replaced credential stays valid before the rotation sweep revokes it. */
  revokeGraceMinutes?: number;
  /** Notice thresholds; the largest is the `expiring` window. */
  noticeDays: readonly number[];
  /** Vault pages one list call may read before answering with what it has (sparse filters). */
  maxVaultPagesPerCall?: number;
}

const DAY_MS = 24 * 3600_000;
const MAX_LIFETIME_MS = 5 * 365 * DAY_MS;

/**
 * The credential inventory over the vault, the only store of record: listing pages through the
 * vault's own paging, imports and updates as secret versions with tags, revocation then soft delete.
 * Secrets not tagged `managed-by=token-broker` are invisible here: never listed, changed or deleted.
 */
export class Inventory {
  private readonly store: SecretStore;
  private readonly maxPages: number;

  constructor(private readonly options: InventoryOptions) {
    this.store = options.store;
    this.maxPages = options.maxVaultPagesPerCall ?? 40;
  }

  private rules(): StatusRules {
    return { now: this.options.now(), noticeDays: Math.max(...this.options.noticeDays) };
  }

  private matcher(filter: InventoryFilter, rules: StatusRules): (item: InventoryItem) => boolean {
    const owner = filter.owner?.toLowerCase();
    const horizon =
      filter.expiringWithinDays !== undefined ? rules.now + filter.expiringWithinDays * DAY_MS : undefined;
    return (item) =>
      (filter.kind === undefined || item.kind === filter.kind) &&
      (filter.status === undefined || item.status === filter.status) &&
      (owner === undefined || item.owner?.toLowerCase() === owner) &&
      (horizon === undefined || (item.expiresOn !== null && Date.parse(item.expiresOn) <= horizon));
  }

  /**
   * Up to `top` matching items from where `continuation` left off. A page can hold fewer than
   * `top` items (a sparse filter over a large vault); the listing ends when continuation is null.
   */
  async list(filter: InventoryFilter, top: number, continuation: string | undefined): Promise<InventoryPage> {
    const start =
      continuation !== undefined
        ? decodePosition(continuation, (p) => this.store.isOwnContinuation(p))
        : { page: undefined, after: undefined };
    const rules = this.rules();
    const matches = this.matcher(filter, rules);
    const items: InventoryItem[] = [];
    let page = start.page;
    let after = start.after?.toLowerCase();
    for (let read = 0; read < this.maxPages; read++) {
      const { items: secrets, next } = await this.store.listPage(page);
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
    const rules = this.rules();
    const matches = this.matcher(filter, rules);
    const items: InventoryItem[] = [];
    for await (const secret of allSecrets(this.store)) {
      const item = toItem(secret, rules);
      if (item !== undefined && matches(item)) items.push(item);
    }
    return items;
  }

  private async current(name: string): Promise<SecretProperties | undefined> {
    try {
      return await this.store.getProperties(name);
    } catch (error) {
      if (error instanceof SecretNotFoundError) return undefined;
      throw error;
    }
  }

  private async managed(name: string): Promise<SecretProperties> {
    const current = await this.current(name);
    if (current === undefined || !isManaged(current.tags)) throw new InventoryError("not_found");
    return current;
  }

  async get(name: string): Promise<InventoryItem> {
    return toItem(await this.managed(name), this.rules()) as InventoryItem;
  }

  async versions(name: string): Promise<VersionItem[]> {
    const current = await this.managed(name);
    const versions = await this.store.listVersions(name);
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

  /** Import (201) or update (200). A new value is a new version; metadata alone updates the current one. */
  async put(
    name: string,
    request: ImportRequest,
    options: { recover: boolean },
  ): Promise<{ item: InventoryItem; created: boolean }> {
    const now = this.options.now();
    let current = await this.current(name);
    if (current === undefined) {
      const deleted = await this.store.getDeletedProperties(name);
      if (deleted !== undefined) {
        if (!isManaged(deleted.tags)) throw new InventoryError("name_in_use");
        if (!options.recover) throw new InventoryError("credential_deleted");
        if (deleted.tags[TAG.kind] !== request.kind) throw new InventoryError("kind_mismatch");
        await this.store.recoverDeleted(name);
        current = await this.managed(name);
      }
    }
    if (current !== undefined && !isManaged(current.tags)) throw new InventoryError("name_in_use");
    if (current !== undefined && current.tags[TAG.kind] !== request.kind) {
      throw new InventoryError("kind_mismatch");
    }
    const created = current === undefined;
    const invalid = (field: string, message: string) =>
      new InventoryError("invalid_field", { field, message });
    // Pending revocations are carried out where the credential lives: moving it first would revoke
    // them in the wrong organization or app and leave the old ones live.
    if (
      current !== undefined &&
      (parsePending(current.tags[TAG.pendingRevoke]).length > 0 ||
        parseVerifyPending(current.tags[TAG.verifyPending]) !== undefined)
    ) {
      const moves: [keyof ImportRequest, string][] = [
        ["organization", TAG.organization],
        ["applicationObjectId", TAG.applicationObjectId],
      ];
      for (const [field, tag] of moves) {
        const next = request[field];
        if (typeof next === "string" && next.toLowerCase() !== current.tags[tag]?.toLowerCase()) {
          throw new InventoryError("invalid_field", {
            field,
            message: "cannot change while replaced credentials wait out their grace (after the next sweep)",
          });
        }
      }
    }
    // Without a value the broker creates the credential upstream itself: no person ever sees it.
    const createUpstream = created && request.value === undefined;
    if (createUpstream && (this.options.creator === undefined || request.kind === "refresh-token")) {
      throw invalid("value", "is required to import a credential of this kind");
    }
    if (createUpstream && request.expiresOn !== undefined) {
      throw invalid("expiresOn", "is set from lifetimeDays when the broker creates the credential");
    }
    const grant = request.kind === "refresh-token";
    // A refresh token's expiry is not chosen: it follows from when it was obtained (lastRedeemed).
    const expiryField = grant ? "lastRedeemed" : "expiresOn";
    const expirySource = grant ? request.lastRedeemed : request.expiresOn;
    if (created) {
      if (!createUpstream && expirySource === undefined) {
        throw invalid(expiryField, "is required to import a credential");
      }
      if (request.owner === undefined) throw invalid("owner", "is required to import a credential");
    }
    if (request.value !== undefined && expirySource === undefined) {
      throw invalid(expiryField, "is required with a new value");
    }
    if (grant && request.lastRedeemed !== undefined && request.value === undefined) {
      throw invalid("lastRedeemed", "is given with a new value (the refresh token obtained then)");
    }
    let expiresOn = request.expiresOn !== undefined ? new Date(request.expiresOn) : undefined;
    if (grant) {
      await this.checkGrantClient(request, current?.tags ?? {});
      if (request.lastRedeemed !== undefined) {
        const last = Date.parse(request.lastRedeemed);
        // A little clock skew between the CLI's machine and the broker is tolerated.
        if (last > now + 5 * 60_000) throw invalid("lastRedeemed", "must not be in the future");
        expiresOn = new Date(last + REFRESH_TOKEN_INACTIVITY_MS);
        if (expiresOn.getTime() <= now) {
          throw invalid("lastRedeemed", "is more than 90 days ago: that refresh token has expired");
        }
      }
    }
    if (expiresOn !== undefined && expiresOn.getTime() <= now)
      throw invalid("expiresOn", "must be in the future");
    // Key Vault's SDK writes expiry as 32-bit seconds (it wraps after 2038); no credential of these
    // kinds lives anywhere near five years anyway.
    if (expiresOn !== undefined && expiresOn.getTime() > now + MAX_LIFETIME_MS)
      throw invalid("expiresOn", "must be within five years");

    const tags = nextTags(current?.tags ?? {}, request, {
      newValue: request.value !== undefined,
      created,
      now,
      graceMs: (this.options.revokeGraceMinutes ?? 60) * 60_000,
    });
    if (tags[TAG.rotation] === "auto") {
      const missing = autoRotationNeeds(request.kind).filter((t) => tags[t] === undefined);
      if (missing.length > 0 || tags[TAG.organization] === ALL_ORGANIZATIONS) {
        throw invalid("rotation", `auto rotation needs ${autoRotationFields(request.kind)}`);
      }
      const lifetime = Number(tags[TAG.lifetimeDays] ?? "0");
      const before = this.options.rotateBeforeDays;
      if (request.kind !== "refresh-token" && before !== undefined && lifetime <= before) {
        // Otherwise every sweep would find the fresh credential due again.
        throw invalid("lifetimeDays", `must exceed BROKER_ROTATE_BEFORE_DAYS (${before}) for auto rotation`);
      }
    }
    if (request.kind === "client-secret") await this.proveOwnership(current?.tags ?? {}, tags, request.value);
    if (createUpstream) {
      const needs = autoRotationNeeds(request.kind).filter((t) => tags[t] === undefined);
      if (needs.length > 0 || tags[TAG.organization] === ALL_ORGANIZATIONS) {
        throw invalid(
          "value",
          `is required unless ${autoRotationFields(request.kind)} let the broker create it`,
        );
      }
      const fresh = await (this.options.creator as UpstreamCreator)(request.kind, name, tags);
      let written: SecretProperties;
      try {
        written = await this.store.setSecret(name, fresh.value, {
          contentType: CONTENT_TYPES[request.kind],
          expiresOn: fresh.expiresOn,
          tags: { ...tags, ...fresh.tags },
        });
      } catch (error) {
        await fresh.discard();
        throw error;
      }
      return { item: toItem(written, this.rules()) as InventoryItem, created };
    }
    const written =
      request.value !== undefined
        ? await this.store.setSecret(name, request.value, {
            contentType: CONTENT_TYPES[request.kind],
            expiresOn,
            tags,
          })
        : await this.store.updateProperties(name, (current as SecretProperties).version, { tags, expiresOn });
    return { item: toItem(written, this.rules()) as InventoryItem, created };
  }

  /**
   * A rotator grant names the client it was issued to, and how that client redeems it: a public
   * client without a secret, a confidential client with the secret of a managed client-secret
   * credential for the same client id. SPA clients are refused by the request schema.
   */
  private async checkGrantClient(
    request: ImportRequest,
    base: Readonly<Record<string, string>>,
  ): Promise<void> {
    const invalid = (field: string, message: string) =>
      new InventoryError("invalid_field", { field, message });
    const clientId = request.clientId ?? base[TAG.clientId];
    if (clientId === undefined)
      throw invalid("clientId", "is required for a refresh token: the client it was issued to");
    const clientType = request.clientType ?? base[TAG.clientType] ?? "public";
    if (clientType !== "confidential") {
      if (request.clientSecretName !== undefined)
        throw invalid("clientSecretName", "only for clientType confidential");
      return;
    }
    const secretName = request.clientSecretName ?? base[TAG.clientSecretName];
    if (secretName === undefined) {
      throw invalid(
        "clientSecretName",
        "is required for a confidential client: the credential holding its secret",
      );
    }
    const secret = await this.current(secretName);
    if (secret === undefined || !isManaged(secret.tags) || secret.tags[TAG.kind] !== "client-secret") {
      throw invalid("clientSecretName", "must name a managed client-secret credential");
    }
    const secretClient = secret.tags[TAG.clientId];
    if (secretClient !== undefined && secretClient.toLowerCase() !== clientId.toLowerCase()) {
      throw invalid("clientSecretName", "names a client secret of another client id");
    }
  }

  /** Records which keyIds the broker proved it holds (`verified-key-ids`): only those, and its own, are ever removed. */
  private async proveOwnership(
    base: Readonly<Record<string, string>>,
    tags: Record<string, string>,
    value: string | undefined,
  ): Promise<void> {
    // A proof vouches for a keyId of one app and client id: naming another forgets every proof.
    const moved = [TAG.applicationObjectId, TAG.clientId].some(
      (t) => (base[t] ?? "").toLowerCase() !== (tags[t] ?? "").toLowerCase(),
    );
    if (moved) Reflect.deleteProperty(tags, TAG.verifiedKeyIds);
    const proven = (await this.options.proveClientSecret?.(tags, value)) ?? false;
    const keyId = tags[TAG.keyId];
    const pending = parsePending(tags[TAG.pendingRevoke]).map((p) => p.id);
    keepVerified(tags, keyId !== undefined ? [keyId, ...pending] : pending, proven ? keyId : undefined);
  }

  /** Revoke upstream first (a failure keeps the record: it is the only handle to retry), then soft-delete. */
  async remove(
    name: string,
    options: { skipUpstream: boolean } = { skipUpstream: false },
  ): Promise<RemoveResult> {
    const current = await this.managed(name);
    const item = toItem(current, this.rules()) as InventoryItem;
    const upstreamRevocation: UpstreamRevocation = options.skipUpstream
      ? "skipped"
      : await this.options.revoker.revoke(item, current.tags);
    const { recoverableDays } = await this.store.deleteSecret(name);
    return { name: item.name, deleted: true, upstreamRevocation, recoverableDays };
  }
}

/** Where to carry on within a vault page: after the last name consumed (pages are in name order). */
function resumeIndex(secrets: readonly SecretProperties[], after: string): number {
  const exact = secrets.findIndex((s) => s.name.toLowerCase() === after);
  if (exact >= 0) return exact + 1;
  const later = secrets.findIndex((s) => s.name.toLowerCase() > after);
  return later >= 0 ? later : secrets.length;
}

function autoRotationNeeds(kind: CredentialKind): string[] {
  if (kind === "pat") return [TAG.organization, TAG.scopes, TAG.lifetimeDays];
  if (kind === "client-secret") return [TAG.applicationObjectId, TAG.clientId, TAG.lifetimeDays];
  return [TAG.clientId];
}
function autoRotationFields(kind: CredentialKind): string {
  if (kind === "pat") return "organization (not all organizations), scopes and lifetimeDays";
  if (kind === "client-secret") return "applicationObjectId, clientId and lifetimeDays";
  return "clientId";
}

/** The secret's tags after this request: what it says, over what the current version has. */
function nextTags(
  base: Readonly<Record<string, string>>,
  request: ImportRequest,
  context: { newValue: boolean; created: boolean; now: number; graceMs: number },
): Record<string, string> {
  const tags: Record<string, string> = { ...base };
  if (context.newValue) {
    // The replaced credential's upstream id is not forgotten: it is revoked after the grace, as
    // after a rotation (the one handed out until now may still sit in callers' caches).
    const pending = parsePending(base[TAG.pendingRevoke]);
    // A new secret pending verification and the proven one handed out meanwhile: both replaced.
    const proven = parseVerifyPending(base[TAG.verifyPending])?.proven?.id;
    for (const id of [base[TAG.authorizationId], base[TAG.keyId], proven]) {
      if (id !== undefined) pending.push({ id: id.toLowerCase(), after: context.now + context.graceMs });
    }
    if (pending.length > MAX_PENDING) throw new InventoryError("pending_revoke_full");
    const pendingTag = formatPending(pending);
    if (pendingTag !== undefined) tags[TAG.pendingRevoke] = pendingTag;
    // These describe the previous value, not the new one.
    for (const stale of [
      TAG.authorizationId,
      TAG.keyId,
      TAG.rotationError,
      TAG.noticeSentFor,
      TAG.verifyPending,
    ]) {
      Reflect.deleteProperty(tags, stale);
    }
    if (!context.created) tags[TAG.rotatedOn] = new Date(context.now).toISOString();
  }
  tags[TAG.managedBy] = MANAGED_BY;
  tags[TAG.kind] = request.kind;
  if (request.owner !== undefined) tags[TAG.owner] = request.owner;
  if (request.allOrgs === true) tags[TAG.organization] = ALL_ORGANIZATIONS;
  if (request.organization !== undefined) tags[TAG.organization] = request.organization;
  if (request.scopes !== undefined) tags[TAG.scopes] = [...new Set(request.scopes)].join(" ");
  tags[TAG.rotation] = request.rotation ?? base[TAG.rotation] ?? "manual";
  if (request.lifetimeDays !== undefined) tags[TAG.lifetimeDays] = String(request.lifetimeDays);
  if (request.authorizationId !== undefined)
    tags[TAG.authorizationId] = request.authorizationId.toLowerCase();
  if (request.applicationObjectId !== undefined) {
    tags[TAG.applicationObjectId] = request.applicationObjectId.toLowerCase();
  }
  if (request.keyId !== undefined) tags[TAG.keyId] = request.keyId.toLowerCase();
  if (request.clientId !== undefined) tags[TAG.clientId] = request.clientId.toLowerCase();
  if (request.kind === "refresh-token") {
    tags[TAG.clientType] = request.clientType ?? base[TAG.clientType] ?? "public";
    if (request.clientSecretName !== undefined) tags[TAG.clientSecretName] = request.clientSecretName;
    if (tags[TAG.clientType] !== "confidential") Reflect.deleteProperty(tags, TAG.clientSecretName);
    if (request.lastRedeemed !== undefined) {
      tags[TAG.lastRedeemed] = new Date(request.lastRedeemed).toISOString();
    }
  }
  return tags;
}
