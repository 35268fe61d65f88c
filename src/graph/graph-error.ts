/**
 * What went wrong talking to Microsoft Graph, as data. The message is built from the reason only:
 * never the secret, the bearer token or Graph's message text.
 */
export type GraphErrorReason =
  | { kind: "unauthorized" }
  /** 403: e.g. the broker's identity does not own the application. */
  | { kind: "forbidden"; code: string | undefined }
  | { kind: "not-found" }
  | { kind: "throttled"; retryAfterSeconds: number | undefined }
  /** Network failure, timeout, 5xx, or no token from the broker's own credential. */
  | { kind: "unavailable"; retryAfterSeconds: number | undefined }
  | { kind: "rejected"; code: string | undefined; status: number }
  | { kind: "malformed"; status: number };

export type GraphOperation = "addPassword" | "removePassword" | "listPasswords";

export class GraphError extends Error {
  override name = "GraphError";

  constructor(
    readonly operation: GraphOperation,
    readonly reason: GraphErrorReason,
  ) {
    super(`Microsoft Graph ${operation}: ${describe(reason)}`);
  }

  get transient(): boolean {
    return this.reason.kind === "throttled" || this.reason.kind === "unavailable";
  }
}

function describe(reason: GraphErrorReason): string {
  switch (reason.kind) {
    case "throttled":
    case "unavailable":
      return reason.retryAfterSeconds !== undefined
        ? `${reason.kind} (retry after ${reason.retryAfterSeconds}s)`
        : reason.kind;
    case "forbidden":
      return reason.code !== undefined ? `forbidden (${reason.code})` : "forbidden";
    case "rejected":
      return `rejected (${reason.code ?? `status ${reason.status}`})`;
    case "malformed":
      return `unexpected response (status ${reason.status})`;
    default:
      return reason.kind;
  }
}
