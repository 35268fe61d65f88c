import type { SecretProperties } from "../vault/secret-store.js";
import { keepVerified } from "../rotation/password-ownership.js";
import type { CreatedBy } from "./creation.js";
import type { ImportRequest } from "./import-request.js";
import { autoRotationFields, autoRotationNeeds, nextTags } from "./import-tags.js";
import { InventoryError } from "./inventory-error.js";
import { statusRules, type InventoryOptions, type UpstreamCreator } from "./inventory-options.js";
import { currentSecret, managedSecret } from "./vault-lookup.js";
import {
  ALL_ORGANIZATIONS,
  CONTENT_TYPES,
  REFRESH_TOKEN_INACTIVITY_MS,
  isManaged,
  TAG,
  toItem,
  type InventoryItem,
} from "./managed-credential.js";
import { verifyPatValue } from "./pat-verification.js";
import { parsePending } from "./pending-revoke.js";
import { parseVerifyPending } from "./verify-pending.js";

const MAX_LIFETIME_MS = 5 * 365 * 24 * 3600_000;

/** Imports and updates: a new value is a new secret version with tags, metadata alone updates the current one. */
export class InventoryImport {
  constructor(private readonly options: InventoryOptions) {}

  /**
   * Import (201) or update (200). A new value is a new version; metadata alone updates the current
   * one. `createOnly` (If-None-Match: *) refuses any existing name before anything is changed: a
   * request meant to create must never turn into an update of what is there.
   */
  async put(
    name: string,
    request: ImportRequest,
    options: { recover: boolean; createOnly?: boolean; by?: CreatedBy },
  ): Promise<{ item: InventoryItem; created: boolean }> {
    // Before anything is read or written: the answer is the same whatever the vault holds.
    if (request.allOrgs === true) throw new InventoryError("global_pat_retired");
    // Who the owner's creation notice names; the route always says (an unnamed admin otherwise).
    const by: CreatedBy = options.by ?? { type: "admin", caller: {} };
    const now = this.options.now();
    let current = await currentSecret(this.options.store, name);
    if (current !== undefined && options.createOnly === true && isManaged(current.tags)) {
      throw new InventoryError("credential_exists");
    }
    // A soft-deleted credential is checked as it was and recovered only once the request is found
    // good (a PAT value proven too): a refused request leaves it deleted.
    let recover = false;
    if (current === undefined) {
      const deleted = await this.options.store.getDeletedProperties(name);
      if (deleted !== undefined) {
        if (!isManaged(deleted.tags)) throw new InventoryError("name_in_use");
        if (!options.recover) throw new InventoryError("credential_deleted");
        // Recovering brings the old credential back: that is not creating one.
        if (options.createOnly === true) throw new InventoryError("credential_exists");
        if (deleted.tags[TAG.kind] !== request.kind) throw new InventoryError("kind_mismatch");
        recover = true;
        current = deleted;
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
    // A new value for a stored global PAT would be one again: only with its organization named.
    if (
      request.kind === "pat" &&
      request.value !== undefined &&
      tags[TAG.organization] === ALL_ORGANIZATIONS
    ) {
      throw new InventoryError("global_pat_retired");
    }
    if (request.kind === "client-secret") await this.proveOwnership(current?.tags ?? {}, tags, request.value);
    await verifyPatValue(this.options.checkPat, request, tags);
    if (recover) {
      await this.options.store.recoverDeleted(name);
      current = await managedSecret(this.options.store, name);
    }
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
        written = await this.options.store.setSecret(name, fresh.value, {
          contentType: CONTENT_TYPES[request.kind],
          expiresOn: fresh.expiresOn,
          tags: { ...tags, ...fresh.tags },
        });
      } catch (error) {
        await fresh.discard();
        throw error;
      }
      await this.options.announce?.(written, by);
      return { item: toItem(written, statusRules(this.options)) as InventoryItem, created };
    }
    const written =
      request.value !== undefined
        ? await this.options.store.setSecret(name, request.value, {
            contentType: CONTENT_TYPES[request.kind],
            expiresOn,
            tags,
          })
        : await this.options.store.updateProperties(name, (current as SecretProperties).version, {
            tags,
            expiresOn,
          });
    // Stored first: the notice never decides whether the write happened.
    if (request.value !== undefined) await this.options.announce?.(written, by);
    return { item: toItem(written, statusRules(this.options)) as InventoryItem, created };
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
    const secret = await currentSecret(this.options.store, secretName);
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
}
