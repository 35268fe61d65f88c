import { FetchRejectedError, FetchUnavailableError, httpSender, type HttpSend } from "./http-request.js";
import { isTransientStatus } from "./upstream-status.js";

export { FetchRejectedError, FetchUnavailableError };

export interface FetchJsonOptions {
  /** Total deadline: connect, headers and body. */
  timeoutMs?: number;
  maxBytes?: number;
  /** Extra trusted CA (PEM) on top of Node's roots: the dev stack's self-signed certificate. */
  extraCa?: string;
  /** BROKER_DEV_STACK: plain http:// and loopback allowed. */
  devStack?: boolean;
  /** The shared upstream sender; when given, its own CA, cap and URL rules apply and timeoutMs bounds this GET. */
  send?: HttpSend;
}

export interface JsonAnswer {
  body: unknown;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
}

/**
 * GET a small JSON document (OIDC discovery, JWKS) over the upstream sender (HTTPS, total
 * deadline, size cap): a 200 with JSON, else FetchUnavailableError for what may pass (5xx, 429,
 * network, deadline) and FetchRejectedError for the rest.
 */
export async function getJson(url: string, options: FetchJsonOptions = {}): Promise<JsonAnswer> {
  const { timeoutMs = 5000, maxBytes = 512 * 1024, extraCa, devStack } = options;
  const send =
    options.send ??
    httpSender({
      timeoutMs,
      maxBytes,
      ...(extraCa !== undefined ? { extraCa } : {}),
      ...(devStack !== undefined ? { devStack } : {}),
    });
  const res = await send({ method: "GET", url, timeoutMs });
  if (isTransientStatus(res.status)) throw new FetchUnavailableError(`status ${res.status}`);
  if (res.status !== 200) throw new FetchRejectedError(`status ${res.status}`);
  try {
    return { body: JSON.parse(res.body), headers: res.headers };
  } catch {
    throw new FetchRejectedError("response is not JSON");
  }
}

/** The body of getJson. */
export async function fetchJson(url: string, options: FetchJsonOptions = {}): Promise<unknown> {
  return (await getJson(url, options)).body;
}
