import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { createHash } from "node:crypto";
import { isPatFormat, patAuthorization } from "../devops/pat-format.js";
import { isGlobalPat, isManaged, TAG } from "../inventory/managed-credential.js";
import { issuableSecret } from "../inventory/verify-pending.js";
import type { TokenMinter } from "../entra/token-minter.js";
import { resolveMintingClientId, type BrokerIdentities } from "../policy/minting-identity.js";
import type { Profile } from "../policy/schema.js";
import { SecretDisabledError, type SecretStore, type StoredSecret } from "../vault/secret-store.js";
import { ExpiringCache } from "./expiring-cache.js";
import { IssuanceError } from "./issuance-error.js";

export interface IssuedCredential {
  profile: string;
  kind: Profile["kind"];
  token: string;
  tokenType: "Bearer" | "Basic";
  expiresOn: Date;
  /** A ready `Authorization` header value. */
  authorization: string;
  /** Short one-way digest for the audit trail: ties a leak to an issuance without holding the secret. */
  fingerprint: string;
}

export function fingerprint(secret: string): string {
  return `sha256:${createHash("sha256").update(secret).digest("hex").slice(0, 16)}`;
}

export interface CredentialIssuerOptions {
  store: SecretStore;
  /** Builds the Entra credentials minted with (the @azure/identity adapter). */
  minter: TokenMinter;
  /**
   * The broker's identities: managed-identity profiles mint with their clientId, else the minting
   * identity; never with the control identity (the policy load refuses such a profile, and so does this).
   */
  identities: BrokerIdentities;
  now?: () => number;
  /** How long a vault read is reused. */
  vaultCacheMs?: number;
  /** A minted token is renewed this long before it expires. */
  refreshMarginMs?: number;
  /**
   * How long after a rotation the replaced PAT stays valid (BROKER_REVOKE_GRACE_MINUTES). A PAT
   * answer promises no longer than that, less the vault cache: a caller that caches it for
   * `expires_in` never holds it past its revocation.
   */
  revokeGraceMs?: number;
}

type EntraProfile = Extract<Profile, { kind: "entra" }>;

/** A minted token, and for an app's client-secret profile the stored secret version it was minted with. */
interface Minted {
  issued: IssuedCredential;
  secret?: { name: string; version: string };
}

/** Stored secrets the broker hands out carry its tags; anything else in the vault is not ours to give. */
function requireManaged(secret: StoredSecret, kind: string): void {
  if (!isManaged(secret.tags) || secret.tags[TAG.kind] !== kind) {
    throw new IssuanceError("credential_invalid");
  }
}

/** Turns a profile into a credential: Entra tokens minted on demand, PATs read from the vault. */
export class CredentialIssuer {
  private readonly minted: ExpiringCache<string, Minted>;
  private readonly secrets: ExpiringCache<string, StoredSecret>;
  /** Credentials never expire by time: kept until forget() (app secrets) or for the runtime's life. */
  private readonly managedIdentities: ExpiringCache<string, TokenCredential>;
  private readonly appCredentials: ExpiringCache<string, { version: string; credential: TokenCredential }>;
  /**
   * Per profile, the answer built from one cached vault read (that very object), so the hot path
   * neither re-checks nor re-hashes it; a newer read of the secret makes it stale.
   */
  private readonly patAnswers: ExpiringCache<string, { secret: StoredSecret; issued: IssuedCredential }>;
  private readonly now: () => number;
  private readonly vaultCacheMs: number;
  private readonly refreshMarginMs: number;

  constructor(private readonly options: CredentialIssuerOptions) {
    this.now = options.now ?? Date.now;
    this.secrets = new ExpiringCache(this.now);
    this.minted = new ExpiringCache(this.now);
    this.managedIdentities = new ExpiringCache(this.now);
    this.appCredentials = new ExpiringCache(this.now);
    this.patAnswers = new ExpiringCache(this.now);
    this.vaultCacheMs = options.vaultCacheMs ?? 30_000;
    this.refreshMarginMs = options.refreshMarginMs ?? 5 * 60_000;
  }

  /** A credential that can be answered from cache right now, or undefined (then call issue()). */
  cached(name: string, profile: Profile): IssuedCredential | undefined {
    if (profile.kind === "entra") {
      const hit = this.minted.peek(name);
      if (hit?.secret === undefined) return hit?.issued;
      // Minted with a stored client secret: only while the cached vault read still shows that
      // version, so a delete or rotation elsewhere is seen within the vault cache TTL.
      return this.secrets.peek(hit.secret.name)?.version === hit.secret.version ? hit.issued : undefined;
    }
    const secret = this.secrets.peek(profile.secret);
    // Per profile: several profiles may share one stored PAT, each with its own cached answer.
    const answer = secret !== undefined ? this.patAnswers.peek(name) : undefined;
    return answer?.secret === secret ? answer?.issued : undefined;
  }

  async issue(name: string, profile: Profile): Promise<IssuedCredential> {
    if (profile.kind === "pat") return this.issuePat(name, profile.secret);
    if (profile.credential.type === "client-secret") {
      // A token minted with a stored secret is reused only while the vault (read at most
      // vaultCacheMs ago) still holds that version: deleted, disabled or rotated means mint anew or refuse.
      const current = await this.readAppSecret(profile.credential.secret);
      const hit = this.minted.peek(name);
      if (hit !== undefined && hit.secret?.version !== current.version) this.minted.delete(name);
    }
    const minted = await this.minted.getOrLoad(name, async () => {
      const { credential, secret } = await this.credentialFor(profile);
      const issued = await this.mintEntra(name, profile, credential);
      return {
        value: { issued, ...(secret !== undefined ? { secret } : {}) },
        until: issued.expiresOn.getTime() - this.refreshMarginMs,
      };
    });
    return minted.issued;
  }

  /**
   * Forgets everything cached from one stored secret: its vault read, the PAT answers built from
   * it and every token minted with it. Called on each write, delete or recovery of that secret on
   * this instance (observeWrites), so the next request reads the vault again.
   */
  forget(secretName: string): void {
    const name = secretName.toLowerCase();
    this.secrets.deleteWhere((_value, key) => key.toLowerCase() === name);
    this.minted.deleteWhere((m) => m.secret?.name.toLowerCase() === name);
    this.patAnswers.deleteWhere((a) => a.secret.name.toLowerCase() === name);
    this.appCredentials.deleteWhere((_value, key) => key.toLowerCase().endsWith(`/${name}`));
  }

  /** A new client secret still pending verification is never handed out: the proven one is. */
  private readSecret(name: string): Promise<StoredSecret> {
    return this.secrets.getOrLoad(name, async () => ({
      value: await issuableSecret(this.options.store, name),
      until: this.now() + this.vaultCacheMs,
    }));
  }

  private async issuePat(profile: string, secretName: string): Promise<IssuedCredential> {
    let secret: StoredSecret;
    try {
      secret = await this.readSecret(secretName);
    } catch (error) {
      if (error instanceof SecretDisabledError) throw new IssuanceError("credential_disabled");
      throw error;
    }
    const answer = this.patAnswers.peek(profile);
    let issued = answer?.secret === secret ? answer.issued : undefined;
    if (issued === undefined) {
      requireManaged(secret, "pat");
      // Works nowhere since 2026-12-01: a clear refusal, not a PAT that fails at Azure DevOps.
      if (isGlobalPat(secret.tags)) throw new IssuanceError("credential_retired");
      if (!isPatFormat(secret.value)) throw new IssuanceError("credential_invalid");
      // A PAT without a known expiry cannot be handed out with an honest expires_in.
      if (secret.expiresOn === undefined) throw new IssuanceError("credential_invalid");
      const promise = Math.max((this.options.revokeGraceMs ?? 60 * 60_000) - this.vaultCacheMs, 60_000);
      issued = {
        profile,
        kind: "pat",
        token: secret.value,
        tokenType: "Basic",
        expiresOn: new Date(Math.min(secret.expiresOn.getTime(), this.now() + promise)),
        authorization: patAuthorization(secret.value),
        fingerprint: fingerprint(secret.value),
      };
      this.patAnswers.set(profile, { secret, issued }, issued.expiresOn.getTime());
    }
    // Checked on every request: a cached read must not outlive the PAT itself.
    if ((secret.expiresOn?.getTime() ?? 0) <= this.now()) throw new IssuanceError("credential_expired");
    return issued;
  }

  private async mintEntra(
    profile: string,
    p: EntraProfile,
    credential: TokenCredential,
  ): Promise<IssuedCredential> {
    let token: AccessToken | null;
    try {
      token = await credential.getToken(p.scope);
    } catch (error) {
      throw new IssuanceError(this.options.minter.classify(error));
    }
    if (token === null || token.token === "" || !Number.isFinite(token.expiresOnTimestamp)) {
      throw new IssuanceError("entra_unavailable");
    }
    return {
      profile,
      kind: "entra",
      token: token.token,
      tokenType: "Bearer",
      expiresOn: new Date(token.expiresOnTimestamp),
      authorization: `Bearer ${token.token}`,
      fingerprint: fingerprint(token.token),
    };
  }

  /** The credential to mint with and, for an app's client secret, which stored version it holds. */
  private async credentialFor(
    p: EntraProfile,
  ): Promise<{ credential: TokenCredential; secret?: { name: string; version: string } }> {
    const c = p.credential;
    if (c.type === "managed-identity") {
      // Always a named user-assigned identity: the default (system-assigned) one is never minted with.
      const resolved = resolveMintingClientId(c.clientId, this.options.identities);
      if (!resolved.ok) throw new IssuanceError("credential_invalid");
      let credential = this.managedIdentities.peek(resolved.clientId);
      if (credential === undefined) {
        credential = this.options.minter.managedIdentity(resolved.clientId);
        this.managedIdentities.set(resolved.clientId, credential, Number.POSITIVE_INFINITY);
      }
      return { credential };
    }
    const secret = await this.readAppSecret(c.secret);
    // One credential per app and secret, replaced when the stored version changes (rotation), so
    // the map holds one entry per profile credential however often secrets rotate.
    const key = `${c.tenantId}/${c.clientId}/${secret.name}`;
    const known = this.appCredentials.peek(key);
    let credential = known?.version === secret.version ? known.credential : undefined;
    if (credential === undefined) {
      credential = this.options.minter.clientSecret(c.tenantId, c.clientId, secret.value, { maxRetries: 2 });
      this.appCredentials.set(key, { version: secret.version, credential }, Number.POSITIVE_INFINITY);
    }
    return { credential, secret: { name: c.secret, version: secret.version } };
  }

  /** The stored client secret of an app profile, checked: ours, of its kind, enabled, in date. */
  private async readAppSecret(name: string): Promise<StoredSecret> {
    let secret: StoredSecret;
    try {
      secret = await this.readSecret(name);
    } catch (error) {
      if (error instanceof SecretDisabledError) throw new IssuanceError("credential_disabled");
      throw error;
    }
    requireManaged(secret, "client-secret");
    if (secret.expiresOn !== undefined && secret.expiresOn.getTime() <= this.now()) {
      throw new IssuanceError("credential_expired");
    }
    return secret;
  }
}
