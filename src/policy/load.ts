import { readFileSync } from "node:fs";
import { ConfigError } from "../config.js";
import { checkPolicyText, formatProblem } from "./check.js";
import type { BrokerIdentities } from "./minting-identity.js";
import type { Policy } from "./policy.js";

export interface PolicyLoadOptions {
  /** BROKER_DEV_STACK: Teams URLs may be plain http to loopback (the webhook sink). */
  devStack?: boolean;
}

/**
 * Reads and validates the policy file (check.ts: the same check as `token-broker policy check`);
 * any fault stops the start, naming every problem, and nothing is half-loaded. The broker's
 * identities decide which managed-identity profiles may mint at all.
 */
export function loadPolicyFile(
  path: string,
  identities: BrokerIdentities,
  options: PolicyLoadOptions = {},
): Policy {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new ConfigError(`BROKER_POLICY_FILE: cannot be read (${code})`);
  }
  const result = checkPolicyText(text, { identities, devStack: options.devStack ?? false });
  if (!result.ok) {
    throw new ConfigError(
      `BROKER_POLICY_FILE: invalid policy:\n  ${result.problems.map(formatProblem).join("\n  ")}`,
    );
  }
  return result.policy;
}
