import { readFileSync } from "node:fs";
import { ConfigError } from "../config.js";
import { compilePolicy, type Policy } from "./policy.js";
import { policySchema } from "./schema.js";

/** Reads and validates the policy file; any fault stops the start, nothing is half-loaded. */
export function loadPolicyFile(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new ConfigError(`BROKER_POLICY_FILE: cannot be read (${code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError("BROKER_POLICY_FILE: is not valid JSON");
  }
  const result = policySchema.safeParse(json);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError(`BROKER_POLICY_FILE: invalid policy:\n  ${lines.join("\n  ")}`);
  }
  return compilePolicy(result.data);
}
