import { IssuanceError } from "../issuance/issuance-error.js";
import { describeError, type Logger } from "../log.js";
import { SecretNotFoundError, VaultRejectedError, VaultUnavailableError } from "../vault/secret-store.js";
import { Problem, problems } from "./problem.js";

/** Every error, from any layer, becomes one problem here; nothing upstream is quoted. */
export function toProblem(error: unknown, log: Logger): Problem {
  if (error instanceof Problem) return error;
  if (error instanceof IssuanceError) {
    switch (error.reason) {
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
      case "entra_refused":
        return problems.upstreamError("Microsoft Entra");
      case "entra_unavailable":
        return problems.upstreamUnavailable("Microsoft Entra");
    }
  }
  if (error instanceof SecretNotFoundError) {
    return problems.credentialUnavailable(
      "credential_invalid",
      "The profile's stored credential is not in the vault.",
    );
  }
  if (error instanceof VaultUnavailableError)
    return problems.upstreamUnavailable("Key Vault", error.retryAfterSeconds);
  if (error instanceof VaultRejectedError) return problems.upstreamError("Key Vault");
  log.error("http.unexpected_error", { error: describeError(error) });
  return problems.internal();
}
