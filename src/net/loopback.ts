import { isIP } from "node:net";

/** True for http(s) URLs whose host is a loopback address or `localhost`. */
export function isLoopbackUrl(url: string | URL): boolean {
  let host: string;
  try {
    host = (typeof url === "string" ? new URL(url) : url).hostname;
  } catch {
    return false;
  }
  host = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1";
  return false;
}

/** Issuers and JWKS are fetched over HTTPS; plain HTTP only on loopback (dev and tests). */
export function isAllowedFetchUrl(url: string | URL): boolean {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    return false;
  }
  if (parsed.username !== "" || parsed.password !== "") return false;
  if (parsed.protocol === "https:") return true;
  return parsed.protocol === "http:" && isLoopbackUrl(parsed);
}
