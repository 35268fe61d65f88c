/**
 * POSTs JSON to a webhook: each try bounded by a timeout, transient failures retried with
 * exponential backoff and jitter, a bounded number of times. The URL carries the receiver's key
 * (Teams workflow URLs do): it is never logged or put in an error.
 */

export interface DeliveryOptions {
  timeoutMs: number;
  tries: number;
  /** First backoff; doubles per try, with up to 50% jitter. */
  backoffMs: number;
}

export const DEFAULT_DELIVERY: DeliveryOptions = { timeoutMs: 5000, tries: 3, backoffMs: 500 };

/** Why a delivery failed, in words safe to log and report (no URL, no receiver text). */
export class DeliveryError extends Error {
  override name = "DeliveryError";
  constructor(readonly reason: string) {
    super(reason);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const transient = (status: number) => status === 408 || status === 429 || status >= 500;

async function tryOnce(url: string, body: string, timeoutMs: number): Promise<string | undefined> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      redirect: "error",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === "TimeoutError";
    return timedOut ? "timeout" : "unreachable";
  }
  // The receiver's answer is not ours to keep; drain it so the connection is freed.
  await response.body?.cancel().catch(() => undefined);
  if (response.ok) return undefined;
  return `http ${response.status}`;
}

/** Resolves when the receiver accepted (2xx); throws DeliveryError after the last failed try. */
export async function postJson(url: string, payload: unknown, options: DeliveryOptions): Promise<void> {
  const body = JSON.stringify(payload);
  let failure = "not tried";
  for (let attempt = 1; attempt <= options.tries; attempt++) {
    const outcome = await tryOnce(url, body, options.timeoutMs);
    if (outcome === undefined) return;
    failure = outcome;
    const status = /^http (\d+)$/.exec(outcome)?.[1];
    if (status !== undefined && !transient(Number(status))) break;
    if (attempt < options.tries) {
      const base = options.backoffMs * 2 ** (attempt - 1);
      await sleep(base + Math.random() * base * 0.5);
    }
  }
  throw new DeliveryError(failure);
}
