/**
 * One reading of an upstream's HTTP status and Retry-After, shared by every outbound client
 * (Graph, Azure DevOps, Key Vault, JSON fetches, notices) so they agree on what is transient.
 */

/** What a status means to us; each client maps the kinds to its own typed error. */
export type UpstreamStatus =
  "ok" | "unauthorized" | "forbidden" | "not_found" | "conflict" | "throttled" | "transient" | "refused";

export function classifyStatus(status: number | undefined): UpstreamStatus {
  // No status at all is a transport failure (the SDK's RestError without a response).
  if (status === undefined) return "transient";
  if (status >= 200 && status < 300) return "ok";
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 409) return "conflict";
  if (status === 429) return "throttled";
  if (status === 408 || status >= 500) return "transient";
  return "refused";
}

/** Throttled or transient: worth another try later. */
export const isTransientStatus = (status: number | undefined): boolean => {
  const kind = classifyStatus(status);
  return kind === "throttled" || kind === "transient";
};

/**
 * The bound every Retry-After we pass on is clamped to: at least a second (zero invites a busy
 * loop) and at most five minutes (a caller waiting longer would rather ask again).
 */
export const RETRY_AFTER_MIN_SECONDS = 1;
export const RETRY_AFTER_MAX_SECONDS = 300;

/** Retry-After (delta-seconds or HTTP-date) as whole seconds, clamped; undefined when absent or unreadable. */
export function retryAfterSeconds(header: string | null | undefined, now = Date.now()): number | undefined {
  if (header === undefined || header === null || header.trim() === "") return undefined;
  const clamp = (s: number) =>
    Math.min(Math.max(RETRY_AFTER_MIN_SECONDS, Math.ceil(s)), RETRY_AFTER_MAX_SECONDS);
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return clamp(Number(trimmed));
  // Date.parse reads "-5" as a year; an HTTP-date always names its day and month.
  const date = /[A-Za-z]/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(date) ? undefined : clamp((date - now) / 1000);
}
