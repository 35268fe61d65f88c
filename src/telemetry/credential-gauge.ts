import type { Attributes, Meter } from "@opentelemetry/api";
import { daysLeft, KINDS, statusOf, TAG } from "../inventory/managed-credential.js";
import type { SecretProperties } from "../vault/secret-store.js";

/** What the gauge is computed from: the managed credentials a sweep listed (metadata only). */
export type CredentialSnapshot = readonly SecretProperties[];

/** Days left as a closed label: a number per credential would be a label per day. */
function daysBucket(days: number | null): string {
  if (days === null) return "none";
  if (days < 0) return "expired";
  if (days <= 1) return "0-1";
  if (days <= 7) return "2-7";
  if (days <= 30) return "8-30";
  return "31+";
}

/**
 * `token_broker.credentials`: managed credentials by kind, status and days left. Read from the
 * last sweep's listing, with status and days worked out at each collection, so it costs no vault
 * call of its own and ages correctly between sweeps.
 */
export function credentialGauge(
  meter: Meter,
  rules: { now: () => number; noticeDays: number },
): { update(listed: CredentialSnapshot): void } {
  let snapshot: CredentialSnapshot | undefined;
  meter
    .createObservableGauge("token_broker.credentials", {
      description: "Managed credentials by kind, status and days left (as of the last sweep's listing)",
      unit: "{credential}",
    })
    .addCallback((result) => {
      if (snapshot === undefined) return;
      const now = rules.now();
      const counts = new Map<string, { attributes: Attributes; value: number }>();
      for (const p of snapshot) {
        const tagged = p.tags[TAG.kind];
        const kind = (KINDS as readonly string[]).includes(tagged ?? "") ? (tagged as string) : "other";
        const status = statusOf(p, { now, noticeDays: rules.noticeDays });
        const days = daysBucket(daysLeft(p.expiresOn, now));
        const key = `${kind} ${status} ${days}`;
        const entry = counts.get(key);
        if (entry !== undefined) entry.value += 1;
        else counts.set(key, { attributes: { kind, status, days_left: days }, value: 1 });
      }
      for (const { attributes, value } of counts.values()) result.observe(value, attributes);
    });
  return {
    update(listed) {
      snapshot = listed;
    },
  };
}
