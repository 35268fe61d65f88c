import { isLoopbackUrl } from "../net/loopback.js";
import { CliError, UsageError, oneLine } from "./errors.js";

export const DEFAULT_URL = "http://127.0.0.1:7071";
export const DEFAULT_SCOPE = "api://token-broker/.default";

/**
 * The broker's base URL from `--url` / TOKEN_BROKER_URL. Plain HTTP only on loopback, as the
 * broker's own rule for issuers: elsewhere the Bearer token would travel in clear.
 */
export function brokerBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url is not a URL: ${oneLine(raw, 100)}`);
  }
  if (url.username !== "" || url.password !== "") {
    // Not echoed: the user part may be a credential.
    throw new UsageError("--url must not carry a user name or password");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UsageError(`--url must be https:// (got ${url.protocol})`);
  }
  if (url.protocol === "http:" && !isLoopbackUrl(url)) {
    throw new UsageError(
      `refusing plain http to ${url.host}: the token would travel in clear; use https:// (http only on loopback)`,
    );
  }
  url.search = "";
  url.hash = "";
  // The dev banner and the README show the API's own URL (…/api): the CLI adds `api/` itself.
  url.pathname = url.pathname.replace(/\/api\/?$/i, "/");
  // A trailing slash makes `new URL("api/…", base)` keep any path prefix (a reverse proxy's).
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

/**
 * The caller token: TOKEN_BROKER_TOKEN when set (automation, tests), else DefaultAzureCredential
 * for the scope (az login, managed identity, workload identity…). @azure/identity is loaded only
 * here, so commands that never call the broker start fast.
 */
export function tokenProvider(env: NodeJS.ProcessEnv, scope: string): () => Promise<string> {
  // Tolerates a pasted "Bearer …", which would otherwise be sent as "Bearer Bearer …".
  const fromEnv = env["TOKEN_BROKER_TOKEN"]?.trim().replace(/^Bearer\s+/i, "");
  if (fromEnv) return () => Promise.resolve(fromEnv);
  return async () => {
    const { DefaultAzureCredential } = await import("@azure/identity");
    try {
      const token = await new DefaultAzureCredential().getToken(scope);
      return token.token;
    } catch (error) {
      const reason = error instanceof Error ? (error.message.split("\n")[0] ?? error.name) : "unknown error";
      throw new CliError(
        oneLine(
          `no token for ${scope} from DefaultAzureCredential (sign in with az login, or set TOKEN_BROKER_TOKEN): ${reason}`,
        ),
      );
    }
  };
}
