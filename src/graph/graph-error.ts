import { UpstreamError } from "../net/upstream-error.js";

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

export type GraphOperation = "addPassword" | "removePassword" | "listPasswords" | "getApplication";

export class GraphError extends UpstreamError<GraphOperation, GraphErrorReason> {
  override name = "GraphError";

  constructor(operation: GraphOperation, reason: GraphErrorReason) {
    super("Microsoft Graph", operation, reason, detail(reason));
  }
}

function detail(reason: GraphErrorReason): string | undefined {
  if (reason.kind === "forbidden")
    return reason.code !== undefined ? `forbidden (${reason.code})` : "forbidden";
  if (reason.kind === "rejected") return `rejected (${reason.code ?? `status ${reason.status}`})`;
  return undefined;
}
