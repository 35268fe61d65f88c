import { DomainError } from "../domain-error.js";

/** Why a caller token was not accepted; the detail is ours, never the token or any of its claims. */
export const INVALID_TOKEN_DETAILS = {
  malformed_bearer: "The Bearer token is malformed.",
  too_large: "The token is too large.",
  not_jwt: "The token is not a signed JWT.",
  issuer_not_trusted: "The token's issuer is not trusted.",
  claims_malformed: "The token's claims are malformed.",
  lifetime_too_long: "The token's lifetime is too long.",
  other_tenant: "The token is from another tenant.",
  not_access_token: "The token is not an access token.",
  expired: "The token has expired.",
  not_yet_valid: "The token is not valid yet.",
  audience_not_accepted: "The token's audience is not accepted.",
  claims_invalid: "The token's claims are invalid.",
  algorithm_not_allowed: "The token's algorithm is not allowed.",
  signing_key_unknown: "The token's signing key is unknown.",
  signature_invalid: "The token's signature is invalid.",
  invalid: "The token is invalid.",
} as const;
export type InvalidTokenReason = keyof typeof INVALID_TOKEN_DETAILS;

export type AuthErrorCode = "missing_token" | "invalid_token" | "issuer_unavailable";

/** The caller could not be authenticated: no Bearer token, a token refused, or no issuer keys to check it. */
export class AuthError extends DomainError<AuthErrorCode> {
  override name = "AuthError";
  /** Safe words for the caller (from the table above), empty unless the token was refused. */
  readonly detail: string;

  private constructor(code: AuthErrorCode, detail: string) {
    super(code, detail === "" ? code : `${code}: ${detail}`);
    this.detail = detail;
  }

  static missingToken(): AuthError {
    return new AuthError("missing_token", "");
  }

  static invalidToken(reason: InvalidTokenReason): AuthError {
    return new AuthError("invalid_token", INVALID_TOKEN_DETAILS[reason]);
  }

  static issuerUnavailable(): AuthError {
    return new AuthError("issuer_unavailable", "");
  }
}
