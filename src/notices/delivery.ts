/**
 * POSTs JSON to a webhook: each try bounded by a timeout, transient failures retried with
 * exponential backoff and jitter, a bounded number of times. The URL carries the receiver's key
 * (Teams workflow URLs do): it is never logged or put in an error.
 */

import { DomainError } from "../domain-error.js";
import { FetchRejectedError, FetchUnavailableError, httpSender, type HttpSend } from "../net/http-request.js";
import { classifyStatus, isTransientStatus } from "../net/upstream-status.js";

export interface DeliveryOptions {
  /** Total deadline per try: connect, headers and body. */
  timeoutMs: number;
  tries: number;
  /** First backoff; doubles per try, with up to 50% jitter. */
  backoffMs: number;
  /** The transport (URL rules, dev CA); defaults to an https-only sender. */
  send?: HttpSend;
}

export const DEFAULT_DELIVERY: DeliveryOptions = { timeoutMs: 5000, tries: 3, backoffMs: 500 };

/** Why a delivery failed, in words safe to log and report (no URL, no receiver text). */
export class DeliveryError extends DomainError<"delivery_failed"> {
  override name = "DeliveryError";
  constructor(readonly reason: string) {
    super("delivery_failed", reason);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function tryOnce(
  send: HttpSend,
  url: string,
  body: string,
  timeoutMs: number,
): Promise<string | undefined> {
  let status: number;
  try {
    // The sender follows no redirects, and the receiver's answer is read (capped) and dropped.
    ({ status } = await send({
      method: "POST",
      url,
      headers: { "content-type": "application/json" },
      body,
      timeoutMs,
    }));
  } catch (error) {
    if (error instanceof FetchRejectedError) return "refused";
    if (error instanceof FetchUnavailableError)
      return error.message === "timed out" ? "timeout" : "unreachable";
    // Not a transport failure but a bug: it must surface (500, error log), not pass for an outage.
    throw error;
  }
  if (classifyStatus(status) === "ok") return undefined;
  return `http ${status}`;
}

/** Resolves when the receiver accepted (2xx); throws DeliveryError after the last failed try. */
export async function postJson(url: string, payload: unknown, options: DeliveryOptions): Promise<void> {
  const body = JSON.stringify(payload);
  const send = options.send ?? httpSender({ timeoutMs: options.timeoutMs });
  let failure = "not tried";
  for (let attempt = 1; attempt <= options.tries; attempt++) {
    const outcome = await tryOnce(send, url, body, options.timeoutMs);
    if (outcome === undefined) return;
    failure = outcome;
    const status = /^http (\d+)$/.exec(outcome)?.[1];
    if (status !== undefined && !isTransientStatus(Number(status))) break;
    if (attempt < options.tries) {
      const base = options.backoffMs * 2 ** (attempt - 1);
      await sleep(base + Math.random() * base * 0.5);
    }
  }
  throw new DeliveryError(failure);
}
