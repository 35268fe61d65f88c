import {
  FetchRejectedError,
  FetchUnavailableError,
  type HttpResponse,
  type HttpSend,
} from "./http-request.js";

export interface BearerJsonRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  token: string;
  /** Sent as JSON when given. */
  body?: unknown;
}

/** How the calling client names the two transport failures (its own error types). */
export interface TransportFailures {
  /** The URL was refused or the answer was unusable (too big): retrying will not help. */
  rejected: () => Error;
  /** Network, TLS or deadline: try again later. */
  unavailable: () => Error;
}

/**
 * One JSON call with a bearer token on the one sender, for the REST clients (Graph, Azure DevOps).
 * Only the sender's two transport failures are translated; anything else is a bug and propagates
 * as it is, so it answers 500 with an error log instead of passing for an outage.
 */
export async function sendBearerJson(
  send: HttpSend,
  req: BearerJsonRequest,
  failures: TransportFailures,
): Promise<HttpResponse> {
  try {
    return await send({
      method: req.method,
      url: req.url,
      headers: {
        authorization: `Bearer ${req.token}`,
        ...(req.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    });
  } catch (error) {
    if (error instanceof FetchRejectedError) throw failures.rejected();
    if (error instanceof FetchUnavailableError) throw failures.unavailable();
    throw error;
  }
}
