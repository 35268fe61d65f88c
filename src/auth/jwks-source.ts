import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import { FetchUnavailableError, fetchJson } from "../net/fetch-json.js";
import { isAllowedFetchUrl } from "../net/loopback.js";
import type { IssuerTrust } from "./issuers.js";

/** The issuer's keys could not be fetched and none usable are known: never a pass, a 503. */
export class IssuerUnavailableError extends Error {
  override name = "IssuerUnavailableError";
}

const FIRST_LOAD_RETRY_MS = 1000;

const discoverySchema = z.object({ issuer: z.string(), jwks_uri: z.string() });
const jwkSchema = z.looseObject({ kty: z.string(), kid: z.string().optional() });
const jwksSchema = z.object({ keys: z.array(z.unknown()).max(100) });

export interface JwksSourceOptions {
  extraCa?: string;
  /** Least time between two fetches triggered by an unknown `kid`: a flood of bad kids cannot DoS the issuer. */
  refreshCooldownMs?: number;
  /** Known keys are refreshed in the background after this long. */
  maxAgeMs?: number;
  now?: () => number;
}

/**
 * Signing keys of one issuer, cached. Jose selects the key (by kid, alg and kty) from a local
 * set; this class decides when to refetch: on an unknown kid (rate-limited) and when the set is
 * old. A failed refresh keeps the last good keys, so an issuer outage does not stop known callers.
 */
export class JwksSource {
  private keys: JWTVerifyGetKey | undefined;
  private fetchedAt = 0;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private lastAttemptFailed = false;
  private inflight: Promise<void> | undefined;
  private readonly cooldownMs: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly trust: IssuerTrust,
    private readonly options: JwksSourceOptions = {},
  ) {
    this.cooldownMs = options.refreshCooldownMs ?? 30_000;
    this.maxAgeMs = options.maxAgeMs ?? 6 * 3600_000;
    this.now = options.now ?? Date.now;
  }

  /** The key resolver handed to jose's jwtVerify. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (this.keys === undefined) {
      // Never loaded: try now, but not more than once a second while the issuer is failing.
      if (this.lastAttemptFailed && this.now() - this.lastAttempt < FIRST_LOAD_RETRY_MS) {
        throw new IssuerUnavailableError("unreachable");
      }
      await this.refresh();
    } else if (
      this.now() - this.fetchedAt > this.maxAgeMs &&
      this.now() - this.lastAttempt > this.cooldownMs
    ) {
      void this.refresh().catch(() => undefined);
    }
    const keys = this.keys;
    if (keys === undefined) throw new IssuerUnavailableError("no keys");
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // Unknown kid: the issuer may have rotated keys. Refetch, but at most once per cooldown.
      // If the issuer cannot be reached we cannot tell a new key from a forged kid: 503, never a pass.
      if (this.now() - this.lastAttempt < this.cooldownMs) {
        if (this.lastAttemptFailed) throw new IssuerUnavailableError("unreachable");
        throw error;
      }
      await this.refresh();
      return (this.keys ?? keys)(header, token);
    }
  };

  private refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<void> {
    this.lastAttempt = this.now();
    const fetchOptions = this.options.extraCa !== undefined ? { extraCa: this.options.extraCa } : {};
    try {
      let jwksUri: string;
      if ("jwksUri" in this.trust.keys) {
        jwksUri = this.trust.keys.jwksUri;
      } else {
        const discovery = discoverySchema.parse(await fetchJson(this.trust.keys.discoveryUrl, fetchOptions));
        // OIDC Discovery §4.3: the document must name exactly the issuer we trust.
        if (discovery.issuer !== this.trust.issuer)
          throw new IssuerUnavailableError("discovery issuer mismatch");
        jwksUri = discovery.jwks_uri;
      }
      if (!isAllowedFetchUrl(jwksUri)) throw new IssuerUnavailableError("jwks_uri is not https");
      const raw = jwksSchema.parse(await fetchJson(jwksUri, fetchOptions));
      // Keep only well-formed public keys; a bad entry must not poison the others.
      const keys = raw.keys.filter((k) => jwkSchema.safeParse(k).success && !hasPrivateParts(k));
      this.keys = createLocalJWKSet({ keys } as JSONWebKeySet);
      this.fetchedAt = this.now();
      this.lastAttemptFailed = false;
    } catch (error) {
      // The last good keys stay in place; the caller decides whether this failure matters.
      this.lastAttemptFailed = true;
      if (error instanceof IssuerUnavailableError) throw error;
      throw new IssuerUnavailableError(error instanceof FetchUnavailableError ? "unreachable" : "bad answer");
    }
  }
}

function hasPrivateParts(key: unknown): boolean {
  return typeof key === "object" && key !== null && "d" in key;
}
