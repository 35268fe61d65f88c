import { FetchRejectedError, FetchUnavailableError, httpSender } from "./http-request.js";

export { FetchRejectedError, FetchUnavailableError };

export interface FetchJsonOptions {
  timeoutMs?: number;
  maxBytes?: number;
  /** Extra trusted CA (PEM) on top of Node's roots: the dev stack's self-signed certificate. */
  extraCa?: string;
}

/**
 * GET a small JSON document (OIDC discovery, JWKS) over the upstream sender (HTTPS or loopback
 * HTTP only, timeout, size cap): a 200 with JSON, else FetchUnavailableError for what may pass
 * (5xx, 429, network) and FetchRejectedError for the rest.
 */
export async function fetchJson(url: string, options: FetchJsonOptions = {}): Promise<unknown> {
  const { timeoutMs = 5000, maxBytes = 512 * 1024, extraCa } = options;
  const send = httpSender({ timeoutMs, maxBytes, ...(extraCa !== undefined ? { extraCa } : {}) });
  const res = await send({ method: "GET", url });
  if (res.status >= 500 || res.status === 429) throw new FetchUnavailableError(`status ${res.status}`);
  if (res.status !== 200) throw new FetchRejectedError(`status ${res.status}`);
  try {
    return JSON.parse(res.body);
  } catch {
    throw new FetchRejectedError("response is not JSON");
  }
}
