/** Host-agnostic HTTP shapes: both the Functions adapter and the local host translate to these. */

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface BrokerRequest {
  method: string;
  /** Path without the route prefix and query, e.g. `/token`. */
  path: string;
  query: URLSearchParams;
  /** The query as sent (URLSearchParams decodes malformed percent-encoding leniently). */
  rawQuery?: string;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string>>;
  /** Route parameters, e.g. `{name}` of `inventory/{name}`. */
  params: Readonly<Record<string, string>>;
  /** The body, already read within the size limit; `null` when it was over the limit. */
  body: Uint8Array | null;
}

export interface BrokerResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

/** Largest request body any route accepts. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads a body stream up to `limit` bytes. Returns `null` as soon as the limit is passed, without
 * buffering the rest, so an oversized body costs at most `limit` bytes of memory.
 */
export async function readBodyLimited(
  chunks: AsyncIterable<Uint8Array> | null | undefined,
  limit: number = MAX_BODY_BYTES,
): Promise<Uint8Array | null> {
  if (chunks == null) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.byteLength;
    if (size > limit) return null;
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}
