import { UpstreamError } from "../net/upstream-error.js";

/**
 * What went wrong talking to Azure DevOps, as data the caller can act on. The message is built
 * from the reason only: never the token, the PAT, or upstream text (which may echo either).
 */
export type DevOpsErrorReason =
  /** 401 (or the 203 sign-in page): the bearer token or PAT was not accepted. */
  | { kind: "unauthorized" }
  /** 403: authenticated, but not allowed (e.g. an app-only token on the PAT API). */
  | { kind: "forbidden" }
  | { kind: "throttled"; retryAfterSeconds: number | undefined }
  /** Network failure, timeout or 5xx. */
  | { kind: "unavailable"; retryAfterSeconds: number | undefined }
  /** The request was refused: `patTokenError` from a PatTokenResult, else the HTTP status. */
  | { kind: "rejected"; patTokenError: string | undefined; status: number }
  /** The answer did not have the documented shape. */
  | { kind: "malformed"; status: number };

export type DevOpsOperation = "create" | "get" | "list" | "update" | "revoke" | "connectionData";

export class DevOpsError extends UpstreamError<DevOpsOperation, DevOpsErrorReason> {
  override name = "DevOpsError";

  constructor(operation: DevOpsOperation, reason: DevOpsErrorReason) {
    super(
      "Azure DevOps",
      operation,
      reason,
      reason.kind === "rejected"
        ? `rejected (${reason.patTokenError ?? `status ${reason.status}`})`
        : undefined,
    );
  }
}
