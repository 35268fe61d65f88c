/**
 * What went wrong talking to an upstream REST service, as data the caller can act on. The message
 * is built from the reason only: never a token, a secret, or upstream text (which may echo either).
 */
export abstract class UpstreamError<Operation extends string, Reason extends { kind: string }> extends Error {
  constructor(
    service: string,
    readonly operation: Operation,
    readonly reason: Reason,
    /** The subclass's words for its own kinds; common kinds are described here. */
    detail: string | undefined,
  ) {
    super(`${service} ${operation}: ${detail ?? describeCommon(reason)}`);
  }

  /** Worth retrying later (throttling, outage); the others need a change first. */
  get transient(): boolean {
    return this.reason.kind === "throttled" || this.reason.kind === "unavailable";
  }
}

/** The kinds every upstream client shares: throttled/unavailable (with Retry-After) and malformed. */
function describeCommon(reason: {
  kind: string;
  retryAfterSeconds?: number | undefined;
  status?: number;
}): string {
  if (reason.retryAfterSeconds !== undefined) {
    return `${reason.kind} (retry after ${reason.retryAfterSeconds}s)`;
  }
  if (reason.kind === "malformed" && "status" in reason)
    return `unexpected response (status ${reason.status})`;
  return reason.kind;
}
