import { DomainError } from "../domain-error.js";

/** The SecretStore port: what the domain needs of the vault, the only store of record. */

export interface StoredSecret {
  name: string;
  value: string;
  version: string;
  contentType: string | undefined;
  expiresOn: Date | undefined;
  tags: Readonly<Record<string, string>>;
}

/** One version's metadata, never its value (what listing the vault answers). */
export interface SecretProperties {
  name: string;
  version: string;
  enabled: boolean;
  contentType: string | undefined;
  expiresOn: Date | undefined;
  createdOn: Date | undefined;
  updatedOn: Date | undefined;
  tags: Readonly<Record<string, string>>;
}

export interface SecretPage {
  items: SecretProperties[];
  /** The vault's own continuation (its nextLink) for the page after this one. */
  next: string | undefined;
}

export interface SecretWrite {
  contentType?: string | undefined;
  expiresOn?: Date | undefined;
  tags: Record<string, string>;
}

export interface SecretStore {
  /** The latest version, or the one named; throws the errors below. */
  getSecret(name: string, version?: string): Promise<StoredSecret>;
  /** The latest version's metadata, also when it is disabled. */
  getProperties(name: string): Promise<SecretProperties>;
  /** One page of the vault's listing (latest versions), from a continuation `listPage` gave. */
  listPage(continuation: string | undefined): Promise<SecretPage>;
  /** Whether a continuation is one this vault could have given (it is fetched with our token). */
  isOwnContinuation(continuation: string): boolean;
  listVersions(name: string): Promise<SecretProperties[]>;
  /** A new version. */
  setSecret(name: string, value: string, write: SecretWrite): Promise<SecretProperties>;
  /** Metadata of one version; tags replace the version's tags. */
  updateProperties(
    name: string,
    version: string,
    update: { expiresOn?: Date | undefined; tags?: Record<string, string>; enabled?: boolean },
  ): Promise<SecretProperties>;
  /** Soft delete; answers how many days it stays recoverable. */
  deleteSecret(name: string): Promise<{ recoverableDays: number }>;
  /** The latest version's metadata of a soft-deleted secret, or undefined. */
  getDeletedProperties(name: string): Promise<SecretProperties | undefined>;
  recoverDeleted(name: string): Promise<void>;
}

/** Every secret's latest metadata, page by page through the vault's own paging (⌈N/25⌉ requests). */
export async function* allSecrets(store: SecretStore): AsyncGenerator<SecretProperties> {
  let page: string | undefined;
  do {
    const result = await store.listPage(page);
    yield* result.items;
    page = result.next;
  } while (page !== undefined);
}

export type VaultErrorCode =
  "secret_not_found" | "secret_disabled" | "secret_deleted" | "vault_unavailable" | "vault_rejected";

/** What the vault answered instead of the secret, as a code; never the vault's own message text. */
export abstract class VaultError extends DomainError<VaultErrorCode> {}

export class SecretNotFoundError extends VaultError {
  override name = "SecretNotFoundError";
  constructor(message?: string) {
    super("secret_not_found", message);
  }
}
export class SecretDisabledError extends VaultError {
  override name = "SecretDisabledError";
  constructor(message?: string) {
    super("secret_disabled", message);
  }
}
/** The name belongs to a soft-deleted secret: it can only be recovered or purged. */
export class SecretDeletedError extends VaultError {
  override name = "SecretDeletedError";
  constructor(message?: string) {
    super("secret_deleted", message);
  }
}
/** Throttled, unreachable or failing transiently; worth retrying later. */
export class VaultUnavailableError extends VaultError {
  override name = "VaultUnavailableError";
  constructor(readonly retryAfterSeconds: number | undefined) {
    super("vault_unavailable", "the vault is unavailable");
  }
}
/** Refused (e.g. no permission) or answered something unusable. */
export class VaultRejectedError extends VaultError {
  override name = "VaultRejectedError";
  constructor(readonly status: number | undefined) {
    super("vault_rejected", "the vault refused the request");
  }
}
