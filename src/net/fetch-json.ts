import http from "node:http";
import https from "node:https";
import { rootCertificates } from "node:tls";
import { isAllowedFetchUrl } from "./loopback.js";

/** The remote end could not be reached or did not answer usably (network, timeout, 5xx, size). */
export class FetchUnavailableError extends Error {
  override name = "FetchUnavailableError";
}
/** The remote end answered, but not with what was asked for (4xx, not JSON). */
export class FetchRejectedError extends Error {
  override name = "FetchRejectedError";
}

export interface FetchJsonOptions {
  timeoutMs?: number;
  maxBytes?: number;
  /** Extra trusted CA (PEM) on top of Node's roots: the dev stack's self-signed certificate. */
  extraCa?: string;
}

/**
 * GET a small JSON document (OIDC discovery, JWKS) with a timeout and a size cap, over HTTPS or
 * loopback HTTP only. Hand-written because fetch() offers no per-call CA or body cap.
 */
export function fetchJson(url: string, options: FetchJsonOptions = {}): Promise<unknown> {
  const { timeoutMs = 5000, maxBytes = 512 * 1024, extraCa } = options;
  if (!isAllowedFetchUrl(url)) {
    return Promise.reject(new FetchRejectedError("refusing a non-HTTPS, non-loopback URL"));
  }
  const target = new URL(url);
  const transport = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      target,
      {
        method: "GET",
        headers: { accept: "application/json" },
        timeout: timeoutMs,
        ...(target.protocol === "https:" && extraCa ? { ca: [...rootCertificates, extraCa] } : {}),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status >= 500 || status === 429) {
          response.resume();
          reject(new FetchUnavailableError(`status ${status}`));
          return;
        }
        if (status !== 200) {
          response.resume();
          reject(new FetchRejectedError(`status ${status}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            request.destroy(new FetchRejectedError("response too large"));
            return;
          }
          chunks.push(chunk);
        });
        response.on("end", () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          } catch {
            reject(new FetchRejectedError("response is not JSON"));
          }
        });
        response.on("error", (error) => reject(classify(error)));
      },
    );
    request.on("timeout", () => request.destroy(new FetchUnavailableError("timed out")));
    request.on("error", (error) => reject(classify(error)));
    request.end();
  });
}

function classify(error: Error): Error {
  if (error instanceof FetchUnavailableError || error instanceof FetchRejectedError) return error;
  return new FetchUnavailableError(`network error (${(error as NodeJS.ErrnoException).code ?? error.name})`);
}
