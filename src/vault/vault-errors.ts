import { isRestError } from "@azure/core-rest-pipeline";
import { z } from "zod";
import { classifyStatus, retryAfterSeconds } from "../net/upstream-status.js";
import {
  SecretDeletedError,
  SecretDisabledError,
  SecretNotFoundError,
  VaultRejectedError,
  VaultUnavailableError,
} from "./secret-store.js";

// The SDK's deserialiser renames the wire's `innererror` to `innerError`; accept both.
const innerCode = z.object({ code: z.string() }).optional();
const restErrorBody = z.object({
  error: z.object({ code: z.string().optional(), innererror: innerCode, innerError: innerCode }),
});

/** SDK errors -> our errors, by status and code only: messages may quote upstream text. */
export function mapVaultError(error: unknown): Error {
  if (isRestError(error)) {
    const status = error.statusCode;
    const kind = classifyStatus(status);
    if (kind === "not_found") return new SecretNotFoundError("not found");
    if (kind === "conflict") {
      return innerCodeOf(error.details) === "ObjectIsDeletedButRecoverable"
        ? new SecretDeletedError("deleted")
        : new VaultUnavailableError(undefined);
    }
    if (kind === "forbidden") {
      return innerCodeOf(error.details) === "SecretDisabled"
        ? new SecretDisabledError("disabled")
        : new VaultRejectedError(status);
    }
    if (kind === "throttled" || kind === "transient") {
      return new VaultUnavailableError(retryAfterSeconds(error.response?.headers.get("retry-after")));
    }
    return new VaultRejectedError(status);
  }
  // Credential failures (no identity, Entra down) and network errors mean "try again later";
  // anything else is a bug and stays itself, so it is answered 500 and logged as one.
  if (error instanceof Error && (CREDENTIAL_FAILURES.has(error.name) || isNetworkError(error))) {
    return new VaultUnavailableError(undefined);
  }
  return error instanceof Error ? error : new Error("non-Error thrown by the vault client");
}

// @azure/identity's failure classes, by name: importing them here would tie the vault to identity.
const CREDENTIAL_FAILURES = new Set([
  "CredentialUnavailableError",
  "AuthenticationError",
  "AggregateAuthenticationError",
  "AuthenticationRequiredError",
]);

function isNetworkError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === "string" && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code);
}

function innerCodeOf(details: unknown): string | undefined {
  const body = restErrorBody.safeParse(details);
  return body.success ? (body.data.error.innerError ?? body.data.error.innererror)?.code : undefined;
}
