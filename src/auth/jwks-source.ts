import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import { FetchUnavailableError, getJson } from "../net/fetch-json.js";
import type { HttpSend } from "../net/http-request.js";
import { ExpiringCache } from "../issuance/expiring-cache.js";
import { isAllowedFetchUrl } from "../net/loopback.js";
import type { IssuerTrust } from "./issuers.js";

/** Why an issuer's keys are not usable now, in words safe to log (no URL, no document content). */
export type IssuerUnavailableReason =
  | "unreachable"
  | "bad_answer"
  | "no_keys"
  | "discovery_url_refused"
  | "discovery_issuer_mismatch"
  | "jwks_uri_refused"
  | "jwks_uri_foreign_origin";

/** The issuer's keys could not be fetched and none usable are known: never a pass, a 503. */
export class IssuerUnavailableError extends Error {
  override name = "IssuerUnavailableError";
  constructor(readonly reason: IssuerUnavailableReason) {
    super(reason);
  }
}

const FIRST_LOAD_RETRY_MS = 1000;
/** Bounds on how long a fetched key set is trusted without a refetch (`Cache-Control: max-age` within them). */
const MIN_KEYS_AGE_MS = 5 * 60_000;
const MAX_KEYS_AGE_MS = 3600_000;

const discoverySchema = z.object({ issuer: z.string(), jwks_uri: z.string() });
const jwkSchema = z.looseObject({ kty: z.string(), kid: z.string().optional() });
const jwksSchema = z.object({ keys: z.array(z.unknown()).max(100) });

export interface JwksSourceOptions {
  extraCa?: string;
  /** BROKER_DEV_STACK: plain http:// and loopback key URLs allowed. */
  devStack?: boolean;
  /** Least time between two fetches triggered by an unknown `kid`: a flood of bad kids cannot DoS the issuer. */
  refreshCooldownMs?: number;
  /** Longest a key set is trusted before it is fetched again (an issuer's max-age may shorten it). */
  maxAgeMs?: number;
  /** Total time for one refresh (discovery and JWKS together); every caller waiting on it is answered within it. */
  fetchDeadlineMs?: number;
  now?: () => number;
  /** The transport for discovery and JWKS (default: the upstream sender built from extraCa and devStack). */
  send?: HttpSend;
}

/** `Cache-Control: max-age` in ms, within [min, max]; no-cache/no-store count as the minimum. */
export function keysMaxAge(cacheControl: string | undefined, maxMs: number): number {
  const min = Math.min(MIN_KEYS_AGE_MS, maxMs);
  if (cacheControl === undefined) return maxMs;
  if (/(^|[\s,])(no-cache|no-store)([\s,=]|$)/i.test(cacheControl)) return min;
  const match = /(?:^|[\s,])max-age\s*=\s*"?(\d{1,10})"?/i.exec(cacheControl);
  if (match?.[1] === undefined) return maxMs;
  return Math.min(Math.max(Number(match[1]) * 1000, min), maxMs);
}

/**
 * Signing keys of one issuer, cached. Jose selects the key (by kid, alg and kty) from a local
 * set; this class decides when to refetch: on an unknown kid (rate-limited) and when the set is
 * older than its max-age (at most an hour), so a key the issuer removed stops being trusted. A
 * failed refresh keeps the last good keys, so an issuer outage does not stop known callers.
 */
export class JwksSource {
  /** The last good key set: served past its max-age while the issuer cannot be reached. */
  private keys: JWTVerifyGetKey | undefined;
  /** The same set while within its max-age; its single-flight load is the one refresh all callers share. */
  private readonly fresh: ExpiringCache<"keys", JWTVerifyGetKey>;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private lastAttemptFailed = false;
  private readonly cooldownMs: number;
  private readonly maxAgeMs: number;
  private readonly deadlineMs: number;
  private readonly now: () => number;

  constructor(
    private readonly trust: IssuerTrust,
    private readonly options: JwksSourceOptions = {},
  ) {
    this.cooldownMs = options.refreshCooldownMs ?? 30_000;
    this.maxAgeMs = Math.min(options.maxAgeMs ?? MAX_KEYS_AGE_MS, MAX_KEYS_AGE_MS);
    this.deadlineMs = options.fetchDeadlineMs ?? 5000;
    this.now = options.now ?? Date.now;
    this.fresh = new ExpiringCache(this.now);
  }

  /** The key resolver handed to jose's jwtVerify. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (this.keys === undefined) {
      // Never loaded: try now, but not more than once a second while the issuer is failing.
      if (this.lastAttemptFailed && this.now() - this.lastAttempt < FIRST_LOAD_RETRY_MS) {
        throw new IssuerUnavailableError("unreachable");
      }
      await this.refresh();
    } else if (this.fresh.peek("keys") === undefined && this.now() - this.lastAttempt > this.cooldownMs) {
      // Stale: refetch before answering, so a removed key is not trusted past max-age. If the
      // issuer cannot be reached the last good keys serve (within the fetch deadline).
      await this.refresh().catch(() => undefined);
    }
    const keys = this.keys;
    if (keys === undefined) throw new IssuerUnavailableError("no_keys");
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

  /** One fetch at a time, shared by every waiting caller, and bounded by one deadline for all of them. */
  private async refresh(): Promise<void> {
    // Asked for while the set is fresh (an unknown kid): that set is replaced, not served.
    if (this.fresh.peek("keys") !== undefined) this.fresh.delete("keys");
    await this.fresh.getOrLoad("keys", () => this.load());
  }

  private async load(): Promise<{ value: JWTVerifyGetKey; until: number }> {
    this.lastAttempt = this.now();
    const started = Date.now();
    // Discovery and JWKS share one budget: the second fetch gets what the first left.
    const fetchOptions = () => ({
      timeoutMs: Math.max(1, this.deadlineMs - (Date.now() - started)),
      ...(this.options.extraCa !== undefined ? { extraCa: this.options.extraCa } : {}),
      ...(this.options.devStack !== undefined ? { devStack: this.options.devStack } : {}),
      ...(this.options.send !== undefined ? { send: this.options.send } : {}),
    });
    try {
      let jwksUri: string;
      if ("jwksUri" in this.trust.keys) {
        jwksUri = this.trust.keys.jwksUri;
      } else {
        if (!isAllowedFetchUrl(this.trust.keys.discoveryUrl, this.options.devStack ?? false))
          throw new IssuerUnavailableError("discovery_url_refused");
        const discovery = discoverySchema.parse(
          (await getJson(this.trust.keys.discoveryUrl, fetchOptions())).body,
        );
        // OIDC Discovery §4.3: the document must name exactly the issuer we trust.
        if (discovery.issuer !== this.trust.issuer)
          throw new IssuerUnavailableError("discovery_issuer_mismatch");
        jwksUri = discovery.jwks_uri;
        // Keys come from the issuer's own origin unless the trust names a JWKS URL itself: a
        // discovery document (or whoever can change it) must not point trust at another host.
        if (!sameOrigin(jwksUri, this.trust.issuer))
          throw new IssuerUnavailableError("jwks_uri_foreign_origin");
      }
      if (!isAllowedFetchUrl(jwksUri, this.options.devStack ?? false))
        throw new IssuerUnavailableError("jwks_uri_refused");
      const answer = await getJson(jwksUri, fetchOptions());
      const raw = jwksSchema.parse(answer.body);
      // Keep only well-formed public keys; a bad entry must not poison the others.
      const keys = raw.keys.filter((k) => jwkSchema.safeParse(k).success && !hasPrivateParts(k));
      const set = createLocalJWKSet({ keys } as JSONWebKeySet);
      this.keys = set;
      this.lastAttemptFailed = false;
      // Fresh up to and including fetch time + max-age (stale only once past it): hence the + 1.
      return {
        value: set,
        until: this.now() + keysMaxAge(answer.headers["cache-control"], this.maxAgeMs) + 1,
      };
    } catch (error) {
      // The last good keys stay in place; the caller decides whether this failure matters.
      this.lastAttemptFailed = true;
      if (error instanceof IssuerUnavailableError) throw error;
      throw new IssuerUnavailableError(error instanceof FetchUnavailableError ? "unreachable" : "bad_answer");
    }
  }
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

function hasPrivateParts(key: unknown): boolean {
  return typeof key === "object" && key !== null && "d" in key;
}
