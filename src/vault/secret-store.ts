/** The SecretStore port: what the domain needs of the vault, the only store of record. */

export interface StoredSecret {
  name: string;
  value: string;
  version: string;
  contentType: string | undefined;
  expiresOn: Date | undefined;
  tags: Readonly<Record<string, string>>;
}

export interface SecretStore {
  /** The latest version; throws the errors below. */
  getSecret(name: string): Promise<StoredSecret>;
}

export class SecretNotFoundError extends Error {
  override name = "SecretNotFoundError";
}
export class SecretDisabledError extends Error {
  override name = "SecretDisabledError";
}
/** Throttled, unreachable or failing transiently; worth retrying later. */
export class VaultUnavailableError extends Error {
  override name = "VaultUnavailableError";
  constructor(readonly retryAfterSeconds: number | undefined) {
    super("the vault is unavailable");
  }
}
/** Refused (e.g. no permission) or answered something unusable. */
export class VaultRejectedError extends Error {
  override name = "VaultRejectedError";
  constructor(readonly status: number | undefined) {
    super("the vault refused the request");
  }
}
