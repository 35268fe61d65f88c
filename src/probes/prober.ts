import type { Logger } from "../log.js";
import type { HttpSend } from "../net/http-request.js";
import type { BrokerMetrics, ProbeName } from "../telemetry/broker-metrics.js";
import { problemBodyWire } from "../wire/problem-body.js";
import { tokenAnswerWire } from "../wire/token-answer.js";

/**
 * Probers (as octo-sts runs them): on a schedule the broker asks itself, through its own HTTP
 * surface and as a real caller, for a profile it must get and one it must be denied. Each outcome
 * is a metric and a log line (error on a failure), so an alert fires when issuance breaks, or
 * when a deny turns into an allow (a policy change that grants too much).
 */

export interface ProbeOutcome {
  probe: ProbeName;
  profile: string;
  result: "pass" | "fail";
  /** The broker's answer, or 0 when none came. */
  status: number;
  /** Why it failed, in words of our own (never the answer's body: an allow carries a credential). */
  reason?: string;
  ms: number;
}

export interface ProberOptions {
  allowProfile: string | undefined;
  denyProfile: string | undefined;
  /** The broker's base URL (no /api); undefined until known (the local host's own URL). */
  baseUrl: () => string | undefined;
  /** A caller token for the broker's audience, as the prober's identity. */
  callerToken: () => Promise<string>;
  send: HttpSend;
  metrics: Pick<BrokerMetrics, "probe">;
  log: Logger;
}

type Check = (status: number, body: string) => string | undefined;

/** Issued: a 200 carrying a well-formed credential answer for that very profile. */
const mustIssue =
  (profile: string): Check =>
  (status, body) => {
    if (status !== 200) return `expected 200, got ${status}`;
    const answer = tokenAnswerWire.safeParse(safeJson(body));
    if (!answer.success) return "the answer is not a credential answer";
    if (answer.data.profile !== profile) return "the answer is for another profile";
    if (answer.data.expires_in <= 0) return "the credential is already expired";
    return undefined;
  };

/** Denied: a 403 problem, profile_not_granted (a 5xx is a broken broker, not a deny). */
const mustDeny: Check = (status, body) => {
  if (status === 200) return "issued a profile that must be denied";
  if (status !== 403) return `expected 403, got ${status}`;
  const problem = problemBodyWire.safeParse(safeJson(body));
  if (!problem.success || problem.data.code !== "profile_not_granted")
    return "403 without profile_not_granted";
  return undefined;
};

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export class Prober {
  constructor(private readonly options: ProberOptions) {}

  async run(): Promise<ProbeOutcome[]> {
    const { allowProfile, denyProfile } = this.options;
    const outcomes: ProbeOutcome[] = [];
    let token: string | undefined;
    let tokenFailure: string | undefined;
    try {
      token = await this.options.callerToken();
    } catch (error) {
      // By class only: identity errors quote Entra's answer.
      tokenFailure = `no caller token for the prober (${(error as Error).name})`;
    }
    if (allowProfile !== undefined) {
      outcomes.push(await this.probe("allow", allowProfile, token, tokenFailure, mustIssue(allowProfile)));
    }
    if (denyProfile !== undefined) {
      outcomes.push(await this.probe("deny", denyProfile, token, tokenFailure, mustDeny));
    }
    return outcomes;
  }

  private async probe(
    probe: ProbeName,
    profile: string,
    token: string | undefined,
    tokenFailure: string | undefined,
    check: Check,
  ): Promise<ProbeOutcome> {
    const started = performance.now();
    let status = 0;
    let reason: string | undefined = tokenFailure;
    const base = this.options.baseUrl();
    if (token !== undefined && base === undefined) reason = "the broker's own URL is not known";
    if (token !== undefined && base !== undefined) {
      try {
        const res = await this.options.send({
          method: "POST",
          url: `${base}/api/token`,
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ profile }),
        });
        status = res.status;
        reason = check(res.status, res.body);
      } catch (error) {
        reason = `the broker did not answer (${(error as Error).name})`;
      }
    }
    const outcome: ProbeOutcome = {
      probe,
      profile,
      result: reason === undefined ? "pass" : "fail",
      status,
      ...(reason !== undefined ? { reason } : {}),
      ms: Math.round(performance.now() - started),
    };
    this.options.metrics.probe(probe, outcome.result);
    this.options.log[outcome.result === "pass" ? "info" : "error"]("probe.result", { ...outcome });
    return outcome;
  }
}
