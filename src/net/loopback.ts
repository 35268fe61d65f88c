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
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1";
  return false;
}

/**
 * Where the broker may send a request or fetch keys from. In Azure: https to a non-loopback
 * host only. In the dev stack (BROKER_DEV_STACK=true, never in Azure): also plain http to
 * loopback, where the emulators listen. Never credentials in the URL.
 */
export function isAllowedFetchUrl(url: string | URL, devStack = false): boolean {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    return false;
  }
  if (parsed.username !== "" || parsed.password !== "") return false;
  if (!devStack) return parsed.protocol === "https:" && !isLoopbackUrl(parsed);
  if (parsed.protocol === "https:") return true;
  return parsed.protocol === "http:" && isLoopbackUrl(parsed);
}
