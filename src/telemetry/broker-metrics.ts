import type { Attributes, Histogram, Meter } from "@opentelemetry/api";
import { credentialGauge, type CredentialSnapshot } from "./credential-gauge.js";
import { attributeTable, Tally } from "./tally.js";

/**
 * The broker's metrics, through the OpenTelemetry API only (whichever SDK the entry registered:
 * Azure Monitor, OTLP, or none). Every label comes from a closed set: a profile label is a name
 * from the policy or `_unknown`, routes are the registration table's templates, never request text.
 */

export type IssuanceOutcome = "issued" | "denied" | "rejected" | "failed";
export type UpstreamSystem =
  "key_vault" | "entra" | "azure_devops" | "graph" | "oidc_issuer" | "notice_target";
export type UpstreamResult = "ok" | "throttled" | "client_error" | "server_error" | "unavailable";
export type CacheName = "caller_token" | "credential";
export type NoticeType = "expiry" | "creation" | "drift";
export type RotationMetricOutcome =
  "rotated" | "pending" | "revoked" | "orphan_revoked" | "skipped" | "failed" | "lease_busy";
export type ProbeName = "allow" | "deny";

export interface BrokerMetrics {
  /** One HTTP request: the table's route template (`inventory/{name}`), never the path asked for. */
  request(route: string, method: string, status: number, seconds: number): void;
  issuance(profile: string | undefined, outcome: IssuanceOutcome): void;
  cache(cache: CacheName, hit: boolean): void;
  upstream(system: UpstreamSystem, result: UpstreamResult, seconds: number): void;
  rotation(outcome: RotationMetricOutcome, count: number): void;
  notice(type: NoticeType, outcome: "sent" | "failed"): void;
  /** The managed credentials a sweep listed: the gauge reports their status and days left from it. */
  credentials(listed: CredentialSnapshot): void;
  /** A refusal by a per-caller limit: `caller` (POST /api/token) or `admin` (write routes). */
  rateLimited(scope: "caller" | "admin"): void;
  probe(probe: ProbeName, result: "pass" | "fail"): void;
}

export const NO_METRICS: BrokerMetrics = {
  request: () => undefined,
  issuance: () => undefined,
  cache: () => undefined,
  upstream: () => undefined,
  rotation: () => undefined,
  notice: () => undefined,
  credentials: () => undefined,
  rateLimited: () => undefined,
  probe: () => undefined,
};

const KNOWN_METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "TRACE",
  "CONNECT",
]);
/** Seconds: the warm path is sub-millisecond, a cold mint a second or more. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface BrokerMetricsOptions {
  /** The policy's profile names: the only values a profile label takes (else `_unknown`). */
  profiles: readonly string[];
  now: () => number;
  noticeDays: number;
}

export function createBrokerMetrics(meter: Meter, options: BrokerMetricsOptions): BrokerMetrics {
  const profiles = new Set(options.profiles);
  // Counters are tallied in plain maps and read by the SDK at each export: the hot path pays a
  // map lookup, not the SDK's attribute hashing per request.
  const tally = (
    name: string,
    description: string,
    unit: string,
    labels: readonly [string] | readonly [string, string],
  ) => new Tally(meter, name, { description, unit }, labels);
  const issuance = tally(
    "token_broker.issuance",
    "Credential requests on POST /api/token, by profile and outcome",
    "{request}",
    ["profile", "outcome"],
  );
  const cache = tally(
    "token_broker.cache.lookup",
    "Cache lookups on the token route, by cache and result",
    "{lookup}",
    ["cache", "result"],
  );
  const upstreamCalls = tally(
    "token_broker.upstream.request",
    "Calls to upstream services, by system and result (throttled apart)",
    "{request}",
    ["system", "result"],
  );
  const rotation = tally("token_broker.rotation", "Rotation sweep and rotate-now outcomes", "{credential}", [
    "outcome",
  ]);
  const notices = tally("token_broker.notice", "Notices delivered or failed, by type", "{notice}", [
    "type",
    "outcome",
  ]);
  const limited = tally(
    "token_broker.rate_limited",
    "Requests refused by a per-caller rate limit",
    "{request}",
    ["scope"],
  );
  const probes = tally(
    "token_broker.probe",
    "Prober outcomes: a profile that must be issued, one that must be denied",
    "{probe}",
    ["probe", "result"],
  );
  const requestDuration = meter.createHistogram("http.server.request.duration", {
    description: "Duration of HTTP requests",
    unit: "s",
    advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
  });
  const upstreamDuration = meter.createHistogram("token_broker.upstream.duration", {
    description: "Duration of calls to upstream services",
    unit: "s",
    advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
  });
  const gauge = credentialGauge(meter, options);
  // The route's template as the API has it (`/api/token`), built once per route, not per record.
  const requestAttributes = attributeTable((route: string, verb: string, status: number) => ({
    "http.route": `/api/${route}`,
    "http.request.method": verb,
    "http.response.status_code": status,
  }));
  // Two labels: the third key is always 0.
  const upstreamAttributes = attributeTable((system: UpstreamSystem, result: UpstreamResult) => ({
    system,
    result,
  }));

  return {
    request(route, method, status, seconds) {
      // The hosts hand the method as sent; the common upper-case one costs no new string.
      const upper = KNOWN_METHODS.has(method) ? method : method.toUpperCase();
      const verb = KNOWN_METHODS.has(upper) ? upper : "_OTHER";
      record(requestDuration, seconds, requestAttributes(route, verb, status));
    },
    issuance(profile, outcome) {
      issuance.add(profile !== undefined && profiles.has(profile) ? profile : "_unknown", outcome);
    },
    cache(name, hit) {
      cache.add(name, hit ? "hit" : "miss");
    },
    upstream(system, result, seconds) {
      upstreamCalls.add(system, result);
      record(upstreamDuration, seconds, upstreamAttributes(system, result, 0));
    },
    rotation(outcome, count) {
      if (count > 0) rotation.add(outcome, "", count);
    },
    notice(type, outcome) {
      notices.add(type, outcome);
    },
    credentials: (listed) => gauge.update(listed),
    rateLimited(scope) {
      limited.add(scope);
    },
    probe(probe, result) {
      probes.add(probe, result);
    },
  };
}

function record(histogram: Histogram, seconds: number, attributes: Attributes): void {
  if (Number.isFinite(seconds) && seconds >= 0) histogram.record(seconds, attributes);
}
