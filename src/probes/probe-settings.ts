import type { Settings } from "../app-settings.js";
import { ConfigError } from "../config-error.js";

/** BROKER_PROBE_* -> the prober's settings (src/probes/prober.ts), or undefined when it is off. */
export interface ProbeSettings {
  schedule: string;
  allowProfile: string | undefined;
  denyProfile: string | undefined;
  /** The broker's own base URL (no /api); undefined: the local host's own. */
  url: string | undefined;
  /** The managed identity it signs in as; undefined: DefaultAzureCredential's default. */
  clientId: string | undefined;
}

export function probeOf(s: Settings): ProbeSettings | undefined {
  if (s.BROKER_PROBE_SCHEDULE === undefined) {
    const stray = (["BROKER_PROBE_ALLOW_PROFILE", "BROKER_PROBE_DENY_PROFILE"] as const).filter(
      (k) => s[k] !== undefined,
    );
    if (stray.length > 0) {
      throw new ConfigError(
        `invalid configuration:\n  BROKER_PROBE_SCHEDULE: is required with ${stray.join(" and ")}`,
      );
    }
    return undefined;
  }
  if (s.BROKER_PROBE_ALLOW_PROFILE === undefined && s.BROKER_PROBE_DENY_PROFILE === undefined) {
    throw new ConfigError(
      "invalid configuration:\n  BROKER_PROBE_ALLOW_PROFILE: a prober needs a profile it must get (and/or BROKER_PROBE_DENY_PROFILE, one it must be denied)",
    );
  }
  if (
    s.BROKER_PROBE_ALLOW_PROFILE !== undefined &&
    s.BROKER_PROBE_ALLOW_PROFILE === s.BROKER_PROBE_DENY_PROFILE
  ) {
    throw new ConfigError(
      "invalid configuration:\n  BROKER_PROBE_DENY_PROFILE: must differ from BROKER_PROBE_ALLOW_PROFILE",
    );
  }
  const url =
    s.BROKER_PROBE_URL ?? (s.WEBSITE_HOSTNAME !== undefined ? `https://${s.WEBSITE_HOSTNAME}` : undefined);
  return {
    schedule: s.BROKER_PROBE_SCHEDULE,
    allowProfile: s.BROKER_PROBE_ALLOW_PROFILE,
    denyProfile: s.BROKER_PROBE_DENY_PROFILE,
    url: url?.replace(/\/+$/, "").replace(/\/api$/, ""),
    clientId: (s.BROKER_PROBE_CLIENT_ID ?? s.AZURE_CLIENT_ID)?.toLowerCase(),
  };
}
