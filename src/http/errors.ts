import { AuthError } from "../auth/auth-error.js";
import { IssuanceError } from "../issuance/issuance-error.js";
import { InventoryError } from "../inventory/inventory-error.js";
import { LeaseBusyError } from "../lease/lease-busy.js";
import { RateLimitedError } from "../limits/rate-limiter.js";
import { describeError, type Logger } from "../log.js";
import { DeliveryError } from "../notices/delivery.js";
import { ROTATION_LEASE } from "../rotation/rotation-lease.js";
import { RotationError } from "../rotation/rotation-error.js";
import { VaultError, VaultUnavailableError } from "../vault/secret-store.js";
import { CREDENTIAL_UNAVAILABLE, Problem, problems, sweepInProgress } from "./problem.js";

/**
 * Every error, from any layer, becomes one problem here; nothing upstream is quoted. Anything
 * that is neither a problem nor a known domain error is a bug: a 500 with an error log, never
 * dressed up as a refusal or an outage.
 */
export function toProblem(error: unknown, log: Logger): Problem {
  if (error instanceof Problem) return error;
  const known = domainProblem(error);
  if (known !== undefined) return known;
  log.error("http.unexpected_error", { error: describeError(error) });
  return problems.internal();
}

/** What a failed call is in the audit trail: refused for want of a grant, refused as asked, or failed. */
export type AuditOutcome = "denied" | "rejected" | "failed";

export function auditOutcome(problem: Problem): AuditOutcome {
  if (problem.status === 403) return "denied";
  // A stored credential that cannot be handed out is the broker's failure (a 409 only so that
  // callers do not retry), and an error log that ops alert on.
  if ((CREDENTIAL_UNAVAILABLE as readonly string[]).includes(problem.code)) return "failed";
  return problem.status >= 500 ? "failed" : "rejected";
}

/** Undefined for anything else, a DomainError subclass this table does not know included (a bug). */
function domainProblem(error: unknown): Problem | undefined {
  if (error instanceof AuthError) return authProblem(error);
  if (error instanceof IssuanceError) return issuanceProblem(error);
  if (error instanceof InventoryError) return inventoryProblem(error);
  if (error instanceof RotationError) return rotationProblem(error);
  if (error instanceof VaultError) return vaultProblem(error);
  if (error instanceof RateLimitedError) return problems.rateLimited(error.retryAfterSeconds);
  // A write while a sweep holds the lease: 409 with Retry-After, nothing was changed.
  if (error instanceof LeaseBusyError)
    return sweepInProgress(error.lease === ROTATION_LEASE ? "rotation" : "expiry-notice");
  // Only if a route ever delivers a notice itself: sweeps report delivery failures per notice.
  if (error instanceof DeliveryError) return problems.upstreamError("The notice channel");
  return undefined;
}

function authProblem(error: AuthError): Problem {
  switch (error.code) {
    case "missing_token":
      return problems.missingToken();
    case "invalid_token":
      return problems.invalidToken(error.detail);
    case "issuer_unavailable":
      return problems.issuerUnavailable();
  }
}

function issuanceProblem(error: IssuanceError): Problem {
  switch (error.code) {
    case "credential_disabled":
      return problems.credentialUnavailable(
        "credential_disabled",
        "The profile's stored credential is disabled.",
      );
    case "credential_expired":
      return problems.credentialUnavailable(
        "credential_expired",
        "The profile's stored credential has expired.",
      );
    case "credential_invalid":
      return problems.credentialUnavailable(
        "credential_invalid",
        "The profile's stored credential is not a valid managed credential.",
      );
    case "credential_retired":
      return problems.credentialRetired();
    case "entra_refused":
      return problems.upstreamError("Microsoft Entra");
    case "entra_unavailable":
      return problems.upstreamUnavailable("Microsoft Entra");
  }
}

function vaultProblem(error: VaultError): Problem {
  switch (error.code) {
    case "secret_deleted":
      return inventoryProblem(new InventoryError("credential_deleted"));
    // Key Vault refuses to read a disabled secret (403 SecretDisabled): someone disabled it there.
    case "secret_disabled":
      return problems.credentialUnavailable(
        "credential_disabled",
        "The profile's stored credential is disabled.",
      );
    case "secret_not_found":
      return problems.credentialUnavailable(
        "credential_missing",
        "The profile's stored credential is not in the vault.",
      );
    case "vault_unavailable":
      return problems.upstreamUnavailable(
        "Key Vault",
        error instanceof VaultUnavailableError ? error.retryAfterSeconds : undefined,
      );
    case "vault_rejected":
      return problems.upstreamError("Key Vault");
  }
}

function inventoryProblem(error: InventoryError): Problem {
  switch (error.code) {
    case "not_found":
      return problems.credentialNotFound();
    case "name_in_use":
      return problems.conflict(
        "name_in_use",
        "A secret of that name exists in the vault and is not managed by the broker; it is left alone.",
      );
    case "credential_deleted":
      return problems.conflict(
        "credential_deleted",
        "A managed credential of that name is soft-deleted. PUT with ?recover=true to recover and update it, or purge it in the vault first.",
      );
    case "credential_exists":
      return new Problem(
        412,
        "credential_exists",
        "Precondition Failed",
        "A managed credential of that name exists, or is soft-deleted (If-None-Match: *): nothing was changed. Rotate it for a new value, or PUT without If-None-Match to update it.",
      );
    case "kind_mismatch":
      return problems.conflict(
        "kind_mismatch",
        "The credential exists with another kind; the kind cannot change.",
      );
    case "invalid_field":
      return problems.badRequest(
        "The request body is invalid.",
        error.field !== undefined ? [error.field] : undefined,
      );
    case "invalid_continuation":
      return problems.badRequest("The query is invalid.", [
        { field: "continuation", message: "is not a continuation this inventory gave" },
      ]);
    case "revocation_failed":
      return problems.upstreamError("The upstream revocation");
    case "revocation_unavailable":
      return problems.upstreamUnavailable("The upstream revocation");
    case "pending_revoke_full":
      return problems.conflict(
        "pending_revoke_full",
        "Five replaced credentials still wait out their grace period; replace it again after the next rotation sweep.",
      );
    // 422: the request is well-formed, the value in it does not work; a person must bring another.
    case "pat_rejected":
      return problems.unprocessable(
        "pat_rejected",
        `Azure DevOps refused the PAT for organization ${error.context.organization ?? "?"}; nothing was stored.`,
      );
    case "organization_not_found":
      return problems.unprocessable(
        "organization_not_found",
        `Azure DevOps knows no organization ${error.context.organization ?? "?"}; nothing was stored.`,
      );
    case "pat_check_unavailable":
      return problems.upstreamUnavailable(
        "Azure DevOps (checking the PAT; nothing was stored)",
        error.context.retryAfterSeconds,
      );
    case "pat_check_failed":
      return problems.upstreamError("Azure DevOps (checking the PAT; nothing was stored)");
    case "global_pat_retired":
      return new Problem(
        400,
        "global_pat_retired",
        "Bad Request",
        "Global PATs (allOrgs, valid in every organization) stopped working on 2026-12-01: Azure DevOps retired them. Import one PAT per organization (organization), or use an Entra profile for Azure DevOps; nothing was stored.",
      );
    case "organization_required":
      return new Problem(
        400,
        "organization_required",
        "Bad Request",
        "The credential is a retired global PAT: name the organization to migrate it to (?organization=ORG; token-broker rotate NAME --org ORG). `organizations` lists those the rotator's grants serve.",
        {},
        { organizations: [...(error.context.organizations ?? [])] },
      );
  }
}

/** A rotation (or a broker-made credential) that did not happen; `reason` is our short code, never upstream text. */
function rotationProblem(error: RotationError): Problem {
  const reason = { reason: error.code };
  if (error.code === "missing_rotation_settings") {
    return problems
      .badRequest(
        "The credential lacks what rotation needs (organization, scopes, lifetimeDays; or applicationObjectId, clientId, lifetimeDays).",
      )
      .with(reason);
  }
  if (error.code === "no_rotator_grant") {
    return problems.conflict(
      "rotator_not_configured",
      "No refresh-token credential serves this organization: store the rotator's grant first.",
    );
  }
  if (error.code === "pending_revoke_full")
    return inventoryProblem(new InventoryError("pending_revoke_full"));
  if (error.code === "application_not_managed") {
    return new Problem(
      403,
      "application_not_managed",
      "Forbidden",
      "The policy's rotation.applications does not list this application: the broker does not add or remove its passwords.",
    );
  }
  if (error.code === "client_id_mismatch") {
    return problems.conflict(
      "client_id_mismatch",
      "The application's appId is not the clientId recorded for this credential (or none is recorded): the broker does not add or remove its passwords.",
    );
  }
  if (error.code === "password_not_ours") {
    return problems.conflict(
      "password_not_ours",
      "The broker neither created this keyId nor proved its value at import: it does not remove it. Import the credential again with its value to prove it, or delete with ?upstream=skip and remove it by hand.",
    );
  }
  if (error.code === "kind_not_rotatable") {
    return problems.conflict("not_rotatable", "The broker does not rotate credentials of this kind.");
  }
  return (
    error.transient
      ? problems.upstreamUnavailable("The rotation upstream")
      : problems.upstreamError("The rotation upstream")
  ).with(reason);
}
