import http from "node:http";
import https from "node:https";
import { rootCertificates } from "node:tls";
import { isAllowedFetchUrl } from "./loopback.js";

/** The remote end could not be reached or did not answer usably (network, timeout, 5xx, size). */
export class FetchUnavailableError extends Error {
  override name = "FetchUnavailableError";
}
/** The remote end answered, but not with what was asked for (4xx, not JSON, URL refused). */
export class FetchRejectedError extends Error {
  override name = "FetchRejectedError";
}

export interface HttpRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: string;
}

export interface HttpRequestOptions {
  timeoutMs?: number;
  maxBytes?: number;
  /** Extra trusted CA (PEM) on top of Node's roots: the dev stack's self-signed certificate. */
  extraCa?: string;
}

/** One request/response exchange; upstream clients take it so tests and the dev stack can pass a CA. */
export type HttpSend = (request: HttpRequest) => Promise<HttpResponse>;

/**
 * A small request function for the upstream REST clients: any status comes back as an answer (the
 * client decides what it means), with a timeout and a body cap, over HTTPS or loopback HTTP only.
 * Hand-written for the same reason as fetchJson: fetch() offers no per-call CA or body cap.
 * Throws FetchUnavailableError (network, timeout) or FetchRejectedError (URL refused, body too big);
 * neither message carries request or response content.
 */
export function httpSender(options: HttpRequestOptions = {}): HttpSend {
  const { timeoutMs = 10_000, maxBytes = 1024 * 1024, extraCa } = options;
  const ca = extraCa !== undefined ? [...rootCertificates, extraCa] : undefined;
  return (req) => {
    if (!isAllowedFetchUrl(req.url)) {
      return Promise.reject(new FetchRejectedError("refusing a non-HTTPS, non-loopback URL"));
    }
    const target = new URL(req.url);
    const transport = target.protocol === "https:" ? https : http;
    const body = req.body !== undefined ? Buffer.from(req.body, "utf8") : undefined;
    return new Promise<HttpResponse>((resolve, reject) => {
      const request = transport.request(
        target,
        {
          method: req.method,
          headers: {
            accept: "application/json",
            ...req.headers,
            ...(body !== undefined ? { "content-length": String(body.length) } : {}),
          },
          timeout: timeoutMs,
          ...(target.protocol === "https:" && ca !== undefined ? { ca } : {}),
        },
        (response) => {
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
            const headers: Record<string, string | undefined> = {};
            for (const [name, value] of Object.entries(response.headers)) {
              headers[name] = Array.isArray(value) ? value.join(", ") : value;
            }
            resolve({
              status: response.statusCode ?? 0,
              headers,
              body: Buffer.concat(chunks).toString("utf8"),
            });
          });
          response.on("error", (error) => reject(classify(error)));
        },
      );
      request.on("timeout", () => request.destroy(new FetchUnavailableError("timed out")));
      request.on("error", (error) => reject(classify(error)));
      request.end(body);
    });
  };
}

function classify(error: Error): Error {
  if (error instanceof FetchUnavailableError || error instanceof FetchRejectedError) return error;
  return new FetchUnavailableError(`network error (${(error as NodeJS.ErrnoException).code ?? error.name})`);
}

/** Retry-After as seconds (delta or HTTP date), capped; undefined when absent or unreadable. */
export function retryAfterSeconds(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined || header.trim() === "") return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(Math.ceil(seconds), 3600);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(0, Math.ceil((date - now) / 1000)), 3600);
}
