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
  /** A deadline sooner than the sender's: what is left of a shared fetch's budget. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: string;
}

export interface HttpRequestOptions {
  /** Total deadline per exchange: connect, TLS, headers and the whole body. */
  timeoutMs?: number;
  maxBytes?: number;
  /** Extra trusted CA (PEM) on top of Node's roots: the dev stack's self-signed certificate. */
  extraCa?: string;
  /** BROKER_DEV_STACK: plain http:// and loopback targets are allowed (never in Azure). */
  devStack?: boolean;
}

/** One request/response exchange; upstream clients take it so tests and the dev stack can pass a CA. */
export type HttpSend = (request: HttpRequest) => Promise<HttpResponse>;

/**
 * A small request function for the upstream REST clients: any status comes back as an answer (the
 * client decides what it means), with a total deadline and a body cap, over HTTPS (plain HTTP and
 * loopback only in the dev stack). Hand-written because fetch() offers no per-call CA or body cap.
 * The deadline covers the whole exchange, not socket idleness: an upstream that trickles one byte
 * at a time is cut off when it passes. Throws FetchUnavailableError (network, deadline) or
 * FetchRejectedError (URL refused, body too big); neither message carries request or response content.
 */
export function httpSender(options: HttpRequestOptions = {}): HttpSend {
  const { timeoutMs = 10_000, maxBytes = 1024 * 1024, extraCa, devStack = false } = options;
  const ca = extraCa !== undefined ? [...rootCertificates, extraCa] : undefined;
  return (req) => {
    if (!isAllowedFetchUrl(req.url, devStack)) {
      return Promise.reject(new FetchRejectedError(urlRefusal(devStack)));
    }
    const deadlineMs = Math.max(0, Math.min(timeoutMs, req.timeoutMs ?? timeoutMs));
    const target = new URL(req.url);
    const transport = target.protocol === "https:" ? https : http;
    const body = req.body !== undefined ? Buffer.from(req.body, "utf8") : undefined;
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      // Settles once; the socket is torn down on any early end so nothing lingers past the deadline.
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(classify(error));
        request.destroy();
      };
      const request = transport.request(
        target,
        {
          method: req.method,
          headers: {
            accept: "application/json",
            ...req.headers,
            ...(body !== undefined ? { "content-length": String(body.length) } : {}),
          },
          ...(target.protocol === "https:" && ca !== undefined ? { ca } : {}),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              fail(new FetchRejectedError("response too large"));
              return;
            }
            chunks.push(chunk);
          });
          response.on("end", () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
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
          response.on("error", fail);
          // Closed before the end of the body (the 'aborted' event is deprecated).
          response.on("close", () => {
            if (!response.complete) fail(new FetchUnavailableError("connection closed"));
          });
        },
      );
      const timer = setTimeout(() => fail(new FetchUnavailableError("timed out")), deadlineMs);
      request.on("error", fail);
      request.end(body);
    });
  };
}

/** Why a URL is not fetched, in words safe to log (never the URL: it may carry a key). */
export function urlRefusal(devStack: boolean): string {
  return devStack
    ? "refusing a URL that is neither https nor loopback http"
    : "refusing a URL that is not https to a non-loopback host (BROKER_DEV_STACK is not set)";
}

function classify(error: Error): Error {
  if (error instanceof FetchUnavailableError || error instanceof FetchRejectedError) return error;
  return new FetchUnavailableError(`network error (${(error as NodeJS.ErrnoException).code ?? error.name})`);
}
