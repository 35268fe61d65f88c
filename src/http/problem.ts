import type { BrokerResponse } from "./types.js";

/**
 * RFC 9457 problem details, the one error shape of the API. `code` is stable for clients;
 * `detail` is written by us and never quotes caller input or upstream messages, which could
 * carry a credential.
 */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [extension: string]: unknown;
}

export class Problem extends Error {
  override name = "Problem";
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(`${code}: ${detail}`);
  }

  with(extensions: Record<string, unknown>): Problem {
    return new Problem(this.status, this.code, this.title, this.detail, this.headers, {
      ...this.extensions,
      ...extensions,
    });
  }

  withHeaders(headers: Record<string, string>): Problem {
    return new Problem(
      this.status,
      this.code,
      this.title,
      this.detail,
      { ...this.headers, ...headers },
      this.extensions,
    );
  }

  toBody(): ProblemBody {
    return {
      type: `urn:token-broker:problem:${this.code}`,
      title: this.title,
      status: this.status,
      detail: this.detail,
      code: this.code,
      ...this.extensions,
    };
  }

  toResponse(): BrokerResponse {
    // A 503 always says when to ask again: only transient failures are 503.
    const retry: Record<string, string> =
      this.status === 503 ? { "retry-after": String(RETRY_AFTER_SECONDS) } : {};
    return {
      status: this.status,
      headers: {
        "content-type": "application/problem+json",
        "cache-control": "no-store",
        ...retry,
        ...this.headers,
      },
      body: JSON.stringify(this.toBody()),
    };
  }
}

export const CREDENTIAL_UNAVAILABLE = [
  "credential_disabled",
  "credential_expired",
  "credential_invalid",
  "credential_missing",
  "credential_retired",
] as const;
export type CredentialUnavailableCode = (typeof CREDENTIAL_UNAVAILABLE)[number];

const REALM = 'realm="token-broker"';
const RETRY_AFTER_SECONDS = 5;

/** The catalogue: every problem the API can answer, in one place. */
export const problems = {
  missingToken: () =>
    new Problem(401, "missing_token", "Unauthorized", "A Bearer token is required.", {
      "www-authenticate": `Bearer ${REALM}`,
    }),
  invalidToken: (detail: string) =>
    new Problem(401, "invalid_token", "Unauthorized", detail, {
      "www-authenticate": `Bearer ${REALM}, error="invalid_token", error_description="${detail.replace(/["\\]/g, "")}"`,
    }),
  // One body for unknown and forbidden profiles, so profile names cannot be probed.
  profileNotGranted: () =>
    new Problem(
      403,
      "profile_not_granted",
      "Forbidden",
      "The profile does not exist or is not granted to the caller.",
    ),
  roleRequired: (role: string) =>
    new Problem(403, "insufficient_role", "Forbidden", `This operation requires the app role ${role}.`, {
      "www-authenticate": `Bearer ${REALM}, error="insufficient_scope"`,
    }),
  badRequest: (detail: string, errors?: { field: string; message: string }[]) =>
    new Problem(400, "invalid_request", "Bad Request", detail, {}, errors ? { errors } : {}),
  notFound: () => new Problem(404, "not_found", "Not Found", "No such route."),
  credentialNotFound: () =>
    new Problem(404, "credential_not_found", "Not Found", "No managed credential has that name."),
  conflict: (code: string, detail: string) => new Problem(409, code, "Conflict", detail),
  unprocessable: (code: string, detail: string) => new Problem(422, code, "Unprocessable Content", detail),
  methodNotAllowed: (allowed: readonly string[]) =>
    new Problem(405, "method_not_allowed", "Method Not Allowed", `Allowed: ${allowed.join(", ")}.`, {
      allow: allowed.join(", "),
    }),
  notAcceptable: () =>
    new Problem(406, "not_acceptable", "Not Acceptable", "This route answers application/json."),
  payloadTooLarge: (limit: number) =>
    new Problem(413, "payload_too_large", "Content Too Large", `The request body is over ${limit} bytes.`),
  headersTooLarge: () =>
    new Problem(
      431,
      "headers_too_large",
      "Request Header Fields Too Large",
      "The request headers are too large.",
    ),
  unsupportedMediaType: (accepted: readonly string[]) =>
    new Problem(415, "unsupported_media_type", "Unsupported Media Type", `Send ${accepted.join(" or ")}.`, {
      "accept-post": accepted.join(", "),
    }),
  /** Over the caller's rate limit (per instance): when its next token comes, in whole seconds. */
  rateLimited: (retryAfterSeconds: number) =>
    new Problem(
      429,
      "rate_limited",
      "Too Many Requests",
      `Too many requests from this caller; try again in ${retryAfterSeconds} s.`,
      { "retry-after": String(retryAfterSeconds) },
    ),
  issuerUnavailable: () =>
    new Problem(
      503,
      "issuer_unavailable",
      "Service Unavailable",
      "The token issuer's signing keys could not be fetched; try again shortly.",
      { "retry-after": String(RETRY_AFTER_SECONDS) },
    ),
  upstreamUnavailable: (what: string, retryAfterSeconds = RETRY_AFTER_SECONDS) =>
    new Problem(
      503,
      "upstream_unavailable",
      "Service Unavailable",
      `${what} is unavailable; try again shortly.`,
      {
        "retry-after": String(retryAfterSeconds),
      },
    ),
  upstreamError: (what: string) =>
    new Problem(502, "upstream_error", "Bad Gateway", `${what} answered with an error.`),
  /** A stored global PAT: it no longer authenticates anywhere; a person migrates it (one organization). */
  credentialRetired: () =>
    new Problem(
      409,
      "credential_retired",
      "Conflict",
      "The profile's stored credential is a global PAT, which Azure DevOps stopped accepting on 2026-12-01. Ask the profile's owner to migrate it to a PAT for one organization: token-broker rotate NAME --org ORG.",
      {},
      { action: "migrate" },
    ),
  /**
   * The profile's stored credential cannot be handed out, and asking again will not change that
   * until a person acts: 409 (the profile's state conflicts with the request), not a retry-me 503,
   * and no Retry-After. `action` names what to do, for clients that branch on it.
   */
  credentialUnavailable: (code: Exclude<CredentialUnavailableCode, "credential_retired">, detail: string) =>
    new Problem(
      409,
      code,
      "Conflict",
      `${detail} Ask the profile's owner to re-import or rotate it.`,
      {},
      { action: "reimport-or-rotate" },
    ),
  internal: () =>
    new Problem(500, "internal_error", "Internal Server Error", "An unexpected error occurred."),
} as const;

/** About how long a sweep takes: when to ask again after a 409. */
const SWEEP_RETRY_AFTER_SECONDS = 30;

/** Another sweep (timer, route, another instance) holds the lease: it does the work; ask again later. */
export function sweepInProgress(what: "rotation" | "expiry-notice"): Problem {
  return problems
    .conflict("sweep_in_progress", `The ${what} sweep is running right now; try again shortly.`)
    .withHeaders({ "retry-after": String(SWEEP_RETRY_AFTER_SECONDS) });
}
