/**
 * A rate limit as the settings write it: `N/s` or `N/m`, optionally `,burst=B` (`20/s,burst=40`:
 * twenty requests a second on average, forty at once after a quiet spell). `off` is no limit.
 */
export interface RateLimit {
  /** Milliseconds between two requests at the sustained rate (1000 / N for `N/s`). */
  intervalMs: number;
  /** How many requests may come at once when the caller has been quiet. */
  burst: number;
}

/** Large enough for any real caller; small enough that the arithmetic stays exact. */
export const RATE_LIMIT_MAX = 1_000_000;

const SHAPE = /^(\d{1,7})\s*\/\s*(s|m)(?:\s*,\s*burst\s*=\s*(\d{1,7}))?$/i;

/**
 * The setting's text -> a limit, `off`, or why it is refused. The reason never quotes the text
 * (config errors name the setting and the rule, never the value).
 */
export function parseRateLimit(text: string): RateLimit | "off" | { error: string } {
  const trimmed = text.trim();
  if (/^off$/i.test(trimmed)) return "off";
  const match = SHAPE.exec(trimmed);
  if (match === null) {
    return { error: "must be N/s or N/m, optionally followed by ,burst=B (e.g. 20/s,burst=40), or off" };
  }
  const [, rateText, unit, burstText] = match;
  const rate = Number(rateText);
  if (rate < 1 || rate > RATE_LIMIT_MAX) {
    return { error: `the rate must be 1 to ${RATE_LIMIT_MAX} requests per second or minute (off for none)` };
  }
  const burst = burstText !== undefined ? Number(burstText) : rate;
  if (burst < 1 || burst > RATE_LIMIT_MAX) return { error: `burst must be 1 to ${RATE_LIMIT_MAX}` };
  return { intervalMs: (unit?.toLowerCase() === "m" ? 60_000 : 1000) / rate, burst };
}
