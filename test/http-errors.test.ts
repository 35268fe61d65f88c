import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { base64url } from "jose";
import { AuthError, INVALID_TOKEN_DETAILS, type InvalidTokenReason } from "../src/auth/auth-error.js";
import { Authenticator } from "../src/auth/authenticator.js";
import { DomainError } from "../src/domain-error.js";
import { auditOutcome, toProblem } from "../src/http/errors.js";
import { Problem, problems } from "../src/http/problem.js";
import { InventoryError } from "../src/inventory/inventory-error.js";
import { IssuanceError } from "../src/issuance/issuance-error.js";
import { LeaseBusyError } from "../src/lease/lease-busy.js";
import { RateLimitedError } from "../src/limits/rate-limiter.js";
import { NOTICE_SWEEP_LEASE } from "../src/notices/sweep.js";
import { ROTATION_LEASE } from "../src/rotation/rotation-lease.js";
import { createLogger } from "../src/log.js";
import { DeliveryError } from "../src/notices/delivery.js";
import { RotationError } from "../src/rotation/rotation-error.js";
import {
  SecretDeletedError,
  SecretDisabledError,
  SecretNotFoundError,
  VaultRejectedError,
  VaultUnavailableError,
} from "../src/vault/secret-store.js";

/** A real logger whose lines are kept, parsed. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger((line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  return { log, lines };
}

const CHALLENGE = 'Bearer realm="token-broker"';

interface Expected {
  status: number;
  code: string;
  headers?: Record<string, string>;
  extensions?: Record<string, unknown>;
  detail?: string;
}

/** Each domain code, and the one answer the API gives for it (as the README and clients know it). */
const CASES: [string, DomainError, Expected][] = [
  [
    "auth missing_token",
    AuthError.missingToken(),
    {
      status: 401,
      code: "missing_token",
      headers: { "www-authenticate": CHALLENGE },
      detail: "A Bearer token is required.",
    },
  ],
  [
    "auth invalid_token",
    AuthError.invalidToken("expired"),
    {
      status: 401,
      code: "invalid_token",
      headers: {
        "www-authenticate": `${CHALLENGE}, error="invalid_token", error_description="The token has expired."`,
      },
      detail: "The token has expired.",
    },
  ],
  // The apostrophe stays: only quotes and backslashes would break the header's quoted string.
  [
    "auth invalid_token (issuer)",
    AuthError.invalidToken("issuer_not_trusted"),
    {
      status: 401,
      code: "invalid_token",
      headers: {
        "www-authenticate": `${CHALLENGE}, error="invalid_token", error_description="The token's issuer is not trusted."`,
      },
    },
  ],
  [
    "auth issuer_unavailable",
    AuthError.issuerUnavailable(),
    {
      status: 503,
      code: "issuer_unavailable",
      headers: { "retry-after": "5" },
    },
  ],
  [
    "issuance credential_disabled",
    new IssuanceError("credential_disabled"),
    { status: 409, code: "credential_disabled", extensions: { action: "reimport-or-rotate" } },
  ],
  [
    "issuance credential_expired",
    new IssuanceError("credential_expired"),
    { status: 409, code: "credential_expired", extensions: { action: "reimport-or-rotate" } },
  ],
  [
    "issuance credential_invalid",
    new IssuanceError("credential_invalid"),
    { status: 409, code: "credential_invalid", extensions: { action: "reimport-or-rotate" } },
  ],
  [
    "issuance entra_refused",
    new IssuanceError("entra_refused"),
    {
      status: 502,
      code: "upstream_error",
      detail: "Microsoft Entra answered with an error.",
    },
  ],
  [
    "issuance entra_unavailable",
    new IssuanceError("entra_unavailable"),
    {
      status: 503,
      code: "upstream_unavailable",
      headers: { "retry-after": "5" },
    },
  ],
  ["inventory not_found", new InventoryError("not_found"), { status: 404, code: "credential_not_found" }],
  ["inventory name_in_use", new InventoryError("name_in_use"), { status: 409, code: "name_in_use" }],
  [
    "inventory credential_deleted",
    new InventoryError("credential_deleted"),
    { status: 409, code: "credential_deleted" },
  ],
  ["inventory kind_mismatch", new InventoryError("kind_mismatch"), { status: 409, code: "kind_mismatch" }],
  [
    "inventory credential_exists",
    new InventoryError("credential_exists"),
    { status: 412, code: "credential_exists" },
  ],
  [
    "inventory invalid_field",
    new InventoryError("invalid_field", { field: "lifetimeDays", message: "is too large" }),
    {
      status: 400,
      code: "invalid_request",
      extensions: { errors: [{ field: "lifetimeDays", message: "is too large" }] },
    },
  ],
  [
    "inventory invalid_continuation",
    new InventoryError("invalid_continuation"),
    {
      status: 400,
      code: "invalid_request",
      extensions: {
        errors: [{ field: "continuation", message: "is not a continuation this inventory gave" }],
      },
    },
  ],
  [
    "inventory revocation_failed",
    new InventoryError("revocation_failed"),
    { status: 502, code: "upstream_error" },
  ],
  [
    "inventory revocation_unavailable",
    new InventoryError("revocation_unavailable"),
    {
      status: 503,
      code: "upstream_unavailable",
      headers: { "retry-after": "5" },
    },
  ],
  [
    "inventory pending_revoke_full",
    new InventoryError("pending_revoke_full"),
    { status: 409, code: "pending_revoke_full" },
  ],
  [
    "rotation missing_rotation_settings",
    new RotationError("missing_rotation_settings", false),
    {
      status: 400,
      code: "invalid_request",
      extensions: { reason: "missing_rotation_settings" },
    },
  ],
  [
    "rotation no_rotator_grant",
    new RotationError("no_rotator_grant", false),
    { status: 409, code: "rotator_not_configured" },
  ],
  [
    "rotation pending_revoke_full",
    new RotationError("pending_revoke_full", true),
    { status: 409, code: "pending_revoke_full" },
  ],
  [
    "rotation application_not_managed",
    new RotationError("application_not_managed", false),
    {
      status: 403,
      code: "application_not_managed",
    },
  ],
  [
    "rotation client_id_mismatch",
    new RotationError("client_id_mismatch", false),
    { status: 409, code: "client_id_mismatch" },
  ],
  [
    "rotation password_not_ours",
    new RotationError("password_not_ours", false),
    { status: 409, code: "password_not_ours" },
  ],
  [
    "rotation kind_not_rotatable",
    new RotationError("kind_not_rotatable", false),
    { status: 409, code: "not_rotatable" },
  ],
  [
    "rotation, transient",
    new RotationError("lease_lost", true),
    {
      status: 503,
      code: "upstream_unavailable",
      headers: { "retry-after": "5" },
      extensions: { reason: "lease_lost" },
    },
  ],
  [
    "rotation, upstream refusal",
    new RotationError("devops_create_rejected_InvalidScope", false),
    {
      status: 502,
      code: "upstream_error",
      extensions: { reason: "devops_create_rejected_InvalidScope" },
    },
  ],
  ["vault secret_deleted", new SecretDeletedError("deleted"), { status: 409, code: "credential_deleted" }],
  [
    "vault secret_disabled",
    new SecretDisabledError("disabled"),
    { status: 409, code: "credential_disabled", extensions: { action: "reimport-or-rotate" } },
  ],
  [
    "vault secret_not_found",
    new SecretNotFoundError("not found"),
    {
      status: 409,
      code: "credential_missing",
      extensions: { action: "reimport-or-rotate" },
      detail:
        "The profile's stored credential is not in the vault. Ask the profile's owner to re-import or rotate it.",
    },
  ],
  [
    "vault vault_unavailable, with Retry-After",
    new VaultUnavailableError(17),
    {
      status: 503,
      code: "upstream_unavailable",
      headers: { "retry-after": "17" },
    },
  ],
  [
    "vault vault_unavailable, without",
    new VaultUnavailableError(undefined),
    {
      status: 503,
      code: "upstream_unavailable",
      headers: { "retry-after": "5" },
    },
  ],
  ["vault vault_rejected", new VaultRejectedError(403), { status: 502, code: "upstream_error" }],
  [
    "lease held (rotation)",
    new LeaseBusyError(ROTATION_LEASE),
    {
      status: 409,
      code: "sweep_in_progress",
      headers: { "retry-after": "30" },
      detail: "The rotation sweep is running right now; try again shortly.",
    },
  ],
  [
    "lease held (notices)",
    new LeaseBusyError(NOTICE_SWEEP_LEASE),
    {
      status: 409,
      code: "sweep_in_progress",
      headers: { "retry-after": "30" },
      detail: "The expiry-notice sweep is running right now; try again shortly.",
    },
  ],
  [
    "over the caller's rate limit",
    new RateLimitedError(7),
    {
      status: 429,
      code: "rate_limited",
      headers: { "retry-after": "7" },
      detail: "Too many requests from this caller; try again in 7 s.",
    },
  ],
  [
    "inventory pat_rejected",
    new InventoryError("pat_rejected", undefined, { organization: "contoso" }),
    {
      status: 422,
      code: "pat_rejected",
      detail: "Azure DevOps refused the PAT for organization contoso; nothing was stored.",
    },
  ],
  [
    "inventory organization_not_found",
    new InventoryError("organization_not_found", undefined, { organization: "nowhere" }),
    { status: 422, code: "organization_not_found" },
  ],
  [
    "inventory pat_check_unavailable, with Retry-After",
    new InventoryError("pat_check_unavailable", undefined, { retryAfterSeconds: 9 }),
    { status: 503, code: "upstream_unavailable", headers: { "retry-after": "9" } },
  ],
  [
    "inventory pat_check_unavailable, without",
    new InventoryError("pat_check_unavailable"),
    { status: 503, code: "upstream_unavailable", headers: { "retry-after": "5" } },
  ],
  [
    "inventory pat_check_failed",
    new InventoryError("pat_check_failed"),
    { status: 502, code: "upstream_error" },
  ],
  ["notice delivery_failed", new DeliveryError("teams: http 500"), { status: 502, code: "upstream_error" }],
];

describe("domain errors to problem+json (src/http/errors.ts)", () => {
  for (const [label, error, expected] of CASES) {
    test(`${label} → ${expected.status} ${expected.code}`, () => {
      const { log, lines } = capturingLogger();
      const problem = toProblem(error, log);
      assert.equal(problem.status, expected.status);
      assert.equal(problem.code, expected.code);
      for (const [name, value] of Object.entries(expected.headers ?? {})) {
        assert.equal(problem.headers[name], value, name);
      }
      if (expected.headers?.["retry-after"] === undefined)
        assert.equal(problem.headers["retry-after"], undefined);
      if (expected.detail !== undefined) assert.equal(problem.detail, expected.detail);
      assert.deepEqual(problem.extensions, expected.extensions ?? {});
      const response = problem.toResponse();
      assert.equal(response.headers["content-type"], "application/problem+json");
      assert.equal((JSON.parse(response.body ?? "") as { code: string }).code, expected.code);
      // An expected refusal or outage is the audit line's business, not an error log of its own.
      assert.deepEqual(lines, []);
    });
  }

  test("every 503 answer says when to ask again, even one built without Retry-After", () => {
    const bare = new Problem(503, "upstream_unavailable", "Service Unavailable", "down");
    assert.equal(bare.toResponse().headers["retry-after"], "5");
    const own = problems.upstreamUnavailable("Key Vault", 12).toResponse();
    assert.equal(own.headers["retry-after"], "12");
    assert.equal(
      problems.credentialUnavailable("credential_expired", "x").toResponse().headers["retry-after"],
      undefined,
    );
  });

  test("a stored credential that cannot be handed out is a failed audit outcome, though a 409", () => {
    const { log } = capturingLogger();
    for (const error of [new IssuanceError("credential_expired"), new SecretNotFoundError("gone")]) {
      assert.equal(auditOutcome(toProblem(error, log)), "failed");
    }
  });

  test("a problem thrown by the HTTP layer passes through as it is", () => {
    const { log, lines } = capturingLogger();
    const problem = problems.roleRequired("Secrets.Admin");
    assert.equal(toProblem(problem, log), problem);
    assert.deepEqual(lines, []);
  });

  // A bug must show as one: an error log and a 500, never a refusal or an outage.
  for (const [label, error] of [
    ["a TypeError", new TypeError("cannot read properties of undefined")],
    ["a thrown string", "oops"],
    ["a DomainError the mapping does not know", new (class Stray extends DomainError<"stray"> {})("stray")],
  ] as const) {
    test(`${label} is a 500 with an error log`, () => {
      const { log, lines } = capturingLogger();
      const problem = toProblem(error, log);
      assert.equal(problem.status, 500);
      assert.equal(problem.code, "internal_error");
      assert.deepEqual(
        lines.map((line) => [line["level"], line["event"]]),
        [["error", "http.unexpected_error"]],
      );
    });
  }

  test("audit outcomes: 403 is denied, other 4xx rejected, 5xx failed", () => {
    const { log } = capturingLogger();
    const outcome = (error: unknown) => auditOutcome(toProblem(error, log));
    assert.equal(outcome(new RotationError("application_not_managed", false)), "denied");
    assert.equal(outcome(problems.profileNotGranted()), "denied");
    assert.equal(outcome(AuthError.missingToken()), "rejected");
    assert.equal(outcome(new InventoryError("not_found")), "rejected");
    assert.equal(outcome(new LeaseBusyError(ROTATION_LEASE)), "rejected");
    assert.equal(outcome(new RateLimitedError(1)), "rejected");
    assert.equal(outcome(new VaultRejectedError(403)), "failed");
    assert.equal(outcome(AuthError.issuerUnavailable()), "failed");
    assert.equal(outcome(new Error("bug")), "failed");
  });

  test("every invalid_token detail is safe in the WWW-Authenticate quoted string", () => {
    for (const reason of Object.keys(INVALID_TOKEN_DETAILS) as InvalidTokenReason[]) {
      const problem = toProblem(
        AuthError.invalidToken(reason),
        createLogger(() => undefined),
      );
      assert.equal(problem.detail, INVALID_TOKEN_DETAILS[reason]);
      assert.ok(
        problem.headers["www-authenticate"]?.endsWith(`error_description="${INVALID_TOKEN_DETAILS[reason]}"`),
        reason,
      );
    }
  });
});

describe("no secret value in an error, its answer or its log line", () => {
  const CANARY = "canary-5ecret-Value-do-not-echo";

  /** Everything that leaves the process for this error: message, answer (body and headers), log lines. */
  function leaked(error: unknown): string {
    const { log, lines } = capturingLogger();
    const response = toProblem(error, log).toResponse();
    const message = error instanceof Error ? `${error.name} ${error.message} ${String(error.stack)}` : "";
    return [message, response.body, JSON.stringify(response.headers), JSON.stringify(lines)].join("\n");
  }

  const jwt = (payload: object) =>
    `${base64url.encode(JSON.stringify({ alg: "RS256", kid: CANARY }))}.${base64url.encode(JSON.stringify(payload))}.${base64url.encode(CANARY)}`;

  test("caller tokens refused by the authenticator are never quoted", async () => {
    const authenticator = new Authenticator([], { tenantId: "a1b2c3d4-0000-4000-8000-000000000001" });
    const refused = async (run: () => unknown): Promise<AuthError> => {
      try {
        await run();
      } catch (error) {
        assert.ok(error instanceof AuthError, String(error));
        return error;
      }
      return assert.fail("expected a refusal");
    };
    const refusals = [
      await refused(() => Authenticator.bearerToken(`Basic ${CANARY}`)),
      await refused(() => authenticator.authenticate(CANARY)),
      await refused(() => authenticator.authenticate(`${CANARY}.${CANARY}.${CANARY}`)),
      await refused(() => authenticator.authenticate(jwt({ iss: `https://${CANARY}.example`, sub: CANARY }))),
      await refused(() => authenticator.authenticate(CANARY.repeat(1000))),
    ];
    assert.deepEqual(
      refusals.map((e) => e.code),
      ["missing_token", "invalid_token", "invalid_token", "invalid_token", "invalid_token"],
    );
    for (const error of refusals) assert.ok(!leaked(error).includes(CANARY), String(error));
  });

  test("an unexpected error's message (which may quote anything) stays out of the answer and the log", () => {
    const { log, lines } = capturingLogger();
    const response = toProblem(new TypeError(`cannot parse ${CANARY}`), log).toResponse();
    assert.equal(lines.length, 1);
    assert.ok(!JSON.stringify(lines).includes(CANARY));
    assert.ok(!(response.body ?? "").includes(CANARY));
    assert.ok(!JSON.stringify(response.headers).includes(CANARY));
  });
});
