import { DefaultAzureCredential } from "@azure/identity";
import type { BrokerConfig } from "../config.js";
import { ConfigError } from "../config-error.js";
import type { Policy } from "../policy/policy.js";
import { Prober, type ProberOptions } from "./prober.js";

/**
 * The prober from the settings, or undefined when it is off. Both profiles must be the policy's:
 * a deny probe of a name the policy lacks would pass forever and prove nothing.
 */
export function proberOf(
  config: BrokerConfig,
  policy: Policy,
  parts: Pick<ProberOptions, "baseUrl" | "send" | "metrics" | "log">,
): Prober | undefined {
  const probe = config.probe;
  if (probe === undefined) return undefined;
  for (const [setting, profile] of [
    ["BROKER_PROBE_ALLOW_PROFILE", probe.allowProfile],
    ["BROKER_PROBE_DENY_PROFILE", probe.denyProfile],
  ] as const) {
    if (profile !== undefined && policy.profile(profile) === undefined) {
      throw new ConfigError(`invalid configuration:\n  ${setting}: names no profile of the policy`);
    }
  }
  // A caller like any other: a token for the broker's own audience, as the prober's identity.
  const credential = new DefaultAzureCredential(
    probe.clientId !== undefined ? { managedIdentityClientId: probe.clientId } : {},
  );
  const scope = `${config.audiences[0] ?? ""}/.default`;
  return new Prober({
    allowProfile: probe.allowProfile,
    denyProfile: probe.denyProfile,
    callerToken: async () => {
      const token = await credential.getToken(scope);
      return token.token;
    },
    ...parts,
  });
}
