import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import type { HttpSend } from "../net/http-request.js";
import type { BrokerMetrics, UpstreamResult, UpstreamSystem } from "./broker-metrics.js";

/** Throttling is counted apart: it is what a quota alert watches, not a generic client error. */
export function upstreamResultOf(status: number): UpstreamResult {
  if (status === 429) return "throttled";
  if (status >= 500) return "server_error";
  if (status >= 400) return "client_error";
  return "ok";
}

const seconds = (since: number) => (performance.now() - since) / 1000;

/**
 * The upstream REST clients' sender, counted per exchange. Which system a URL belongs to is
 * decided by its origin (from the configured service URLs), else the sender's own role.
 */
export function observedSender(
  send: HttpSend,
  metrics: BrokerMetrics,
  systemOf: (origin: string) => UpstreamSystem | undefined,
  fallback: UpstreamSystem,
): HttpSend {
  return async (request) => {
    let system = fallback;
    try {
      system = systemOf(new URL(request.url).origin) ?? fallback;
    } catch {
      // An unparsable URL is refused by the sender itself; counted as the sender's own role.
    }
    const started = performance.now();
    try {
      const response = await send(request);
      metrics.upstream(system, upstreamResultOf(response.status), seconds(started));
      return response;
    } catch (error) {
      metrics.upstream(system, "unavailable", seconds(started));
      throw error;
    }
  };
}

/**
 * The same count for Azure SDK clients (Key Vault, @azure/identity): placed per retry, so each
 * attempt is one upstream call, a throttled one that the SDK retries included.
 */
export function upstreamMetricsPolicy(system: UpstreamSystem, metrics: BrokerMetrics): PipelinePolicy {
  return {
    name: `tokenBrokerUpstreamMetrics-${system}`,
    async sendRequest(request, next) {
      const started = performance.now();
      try {
        const response = await next(request);
        metrics.upstream(system, upstreamResultOf(response.status), seconds(started));
        return response;
      } catch (error) {
        const status = (error as { statusCode?: unknown }).statusCode;
        metrics.upstream(
          system,
          typeof status === "number" ? upstreamResultOf(status) : "unavailable",
          seconds(started),
        );
        throw error;
      }
    },
  };
}

/** Origins of the configured services -> their system label. */
export function systemsByOrigin(urls: Partial<Record<UpstreamSystem, readonly string[]>>) {
  const table = new Map<string, UpstreamSystem>();
  for (const [system, list] of Object.entries(urls) as [UpstreamSystem, readonly string[]][]) {
    for (const url of list) {
      try {
        table.set(new URL(url).origin, system);
      } catch {
        // Config URLs are validated at start; a bad one here only means no label of its own.
      }
    }
  }
  return (origin: string) => table.get(origin);
}
