import { decodeJwt, errors, jwtVerify } from "jose";
import { AuthError } from "./auth-error.js";
import type { IssuerTrust } from "./issuers.js";
import type { HttpSend } from "../net/http-request.js";
import { IssuerUnavailableError, JwksSource } from "./jwks-source.js";
import { claimsSchema, normaliseEntraClaims, type Principal } from "./principal.js";
import { VerifiedTokenCache } from "./verified-token-cache.js";

/** RFC 8725: a fixed allowlist, asymmetric only; never `none` or HMAC (no key confusion). */
const ALGORITHMS = ["RS256", "PS256", "ES256"];
const CLOCK_SKEW_SECONDS = 60;
/** Real access tokens are a few KB; anything far larger is refused before any parsing. */
export const MAX_TOKEN_LENGTH = 16 * 1024;
/** Longest lifetime accepted (Entra managed-identity tokens live up to 24 h). */
const MAX_LIFETIME_SECONDS = 25 * 3600;
export const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface AuthenticatorOptions {
  tenantId: string;
  extraCa?: string;
  now?: () => number;
  cacheEntries?: number;
  jwksRefreshCooldownMs?: number;
  /** BROKER_DEV_STACK: plain http:// and loopback key URLs allowed. */
  devStack?: boolean;
  /** Total time for one key refresh; every caller waiting on it is answered within it. */
  fetchDeadlineMs?: number;
  /** The transport for discovery and JWKS (the runtime passes one that counts upstream calls). */
  send?: HttpSend;
}

/** Caller authentication: Bearer JWTs from the Entra tenant and the configured trusted issuers. */
export class Authenticator {
  private readonly trusts = new Map<string, { trust: IssuerTrust; keys: JwksSource }>();
  private readonly cache: VerifiedTokenCache<Principal>;
  private readonly now: () => number;

  constructor(
    trusts: readonly IssuerTrust[],
    private readonly options: AuthenticatorOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.cache = new VerifiedTokenCache<Principal>(options.cacheEntries, undefined, this.now);
    for (const trust of trusts) {
      const keys = new JwksSource(trust, {
        now: this.now,
        ...(options.extraCa !== undefined ? { extraCa: options.extraCa } : {}),
        ...(options.jwksRefreshCooldownMs !== undefined
          ? { refreshCooldownMs: options.jwksRefreshCooldownMs }
          : {}),
        ...(options.devStack !== undefined ? { devStack: options.devStack } : {}),
        ...(options.fetchDeadlineMs !== undefined ? { fetchDeadlineMs: options.fetchDeadlineMs } : {}),
        ...(options.send !== undefined ? { send: options.send } : {}),
      });
      this.trusts.set(trust.issuer, { trust, keys });
    }
  }

  /** The token of an `Authorization: Bearer …` header (RFC 6750 §2.1). */
  static bearerToken(header: string | undefined): string {
    const value = header?.trim() ?? "";
    const scheme = value.slice(0, 7).toLowerCase();
    // Another scheme (Basic, Negotiate…) is no Bearer credential at all: a plain challenge.
    if (scheme !== "bearer " && scheme !== "bearer") throw AuthError.missingToken();
    // Inner whitespace and the rest of the format are checked by authenticate().
    const token = value.slice(6).trimStart();
    if (token === "") throw AuthError.invalidToken("malformed_bearer");
    return token;
  }

  /** The principal of a token verified before and still in date, synchronously; else undefined. */
  cached(token: string): Principal | undefined {
    // A hit means exactly this string passed every check of authenticate() within its lifetime.
    return token.length > MAX_TOKEN_LENGTH ? undefined : this.cache.get(VerifiedTokenCache.keyOf(token));
  }

  async authenticate(token: string): Promise<Principal> {
    if (token.length > MAX_TOKEN_LENGTH) throw AuthError.invalidToken("too_large");
    const cacheKey = VerifiedTokenCache.keyOf(token);
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached;
    if (!COMPACT_JWS.test(token)) throw AuthError.invalidToken("not_jwt");

    const principal = await this.verify(token);
    this.cache.set(cacheKey, principal, principal.expiresAt);
    return principal;
  }

  private async verify(token: string): Promise<Principal> {
    let claimedIssuer: unknown;
    try {
      claimedIssuer = decodeJwt(token).iss;
    } catch {
      throw AuthError.invalidToken("not_jwt");
    }
    const entry = typeof claimedIssuer === "string" ? this.trusts.get(claimedIssuer) : undefined;
    if (entry === undefined) throw AuthError.invalidToken("issuer_not_trusted");
    const { trust, keys } = entry;

    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, keys.getKey, {
        issuer: trust.issuer,
        audience: [...trust.audiences],
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ["exp", "sub"],
        currentDate: new Date(this.now()),
      }));
    } catch (error) {
      throw mapVerifyError(error);
    }

    const parsed = claimsSchema.safeParse(payload);
    if (!parsed.success) throw AuthError.invalidToken("claims_malformed");
    const claims = parsed.data;
    const nowSeconds = this.now() / 1000;
    if (claims.exp - Math.min(claims.iat ?? nowSeconds, nowSeconds) > MAX_LIFETIME_SECONDS) {
      throw AuthError.invalidToken("lifetime_too_long");
    }
    if (trust.kind === "entra") {
      if (claims.tid?.toLowerCase() !== this.options.tenantId) {
        throw AuthError.invalidToken("other_tenant");
      }
      // Access tokens name the client (appid in v1, azp in v2); ID tokens do not.
      if (claims.appid === undefined && claims.azp === undefined) {
        throw AuthError.invalidToken("not_access_token");
      }
    }
    const normalised = trust.kind === "entra" ? normaliseEntraClaims(claims) : claims;
    return {
      issuer: trust.issuer,
      issuerKind: trust.kind,
      subject: claims.sub,
      claims: normalised,
      expiresAt: claims.exp * 1000,
    };
  }
}

function mapVerifyError(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof IssuerUnavailableError) return AuthError.issuerUnavailable();
  if (error instanceof errors.JWTExpired) return AuthError.invalidToken("expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return AuthError.invalidToken("not_yet_valid");
    if (error.claim === "aud") return AuthError.invalidToken("audience_not_accepted");
    if (error.claim === "iss") return AuthError.invalidToken("issuer_not_trusted");
    return AuthError.invalidToken("claims_invalid");
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return AuthError.invalidToken("algorithm_not_allowed");
  if (error instanceof errors.JWKSNoMatchingKey) return AuthError.invalidToken("signing_key_unknown");
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return AuthError.invalidToken("signature_invalid");
  }
  return AuthError.invalidToken("invalid");
}
