import { readFileSync } from "node:fs";
import { ConfigError } from "../config.js";
import { isAllowedFetchUrl } from "../net/loopback.js";
import { compilePolicy, type Policy } from "./policy.js";
import { resolveMintingClientId, type BrokerIdentities } from "./minting-identity.js";
import { policySchema, type PolicyDocument } from "./schema.js";

/** Managed-identity profiles that would mint as the control identity, or as nobody: `path: why` lines. */
function mintingIssues(doc: PolicyDocument, identities: BrokerIdentities): string[] {
  const lines: string[] = [];
  for (const [name, profile] of Object.entries(doc.profiles)) {
    if (profile.kind !== "entra" || profile.credential.type !== "managed-identity") continue;
    const resolved = resolveMintingClientId(profile.credential.clientId, identities);
    if (!resolved.ok) lines.push(`profiles.${name}.${resolved.field}: ${resolved.message}`);
  }
  return lines;
}

export interface PolicyLoadOptions {
  /** BROKER_DEV_STACK: Teams URLs may be plain http to loopback (the webhook sink). */
  devStack?: boolean;
}

/**
 * Reads and validates the policy file; any fault stops the start, nothing is half-loaded. The
 * broker's identities decide which managed-identity profiles may mint at all.
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
  const refused = mintingIssues(result.data, identities);
  if (refused.length > 0) {
    throw new ConfigError(`BROKER_POLICY_FILE: invalid policy:\n  ${refused.join("\n  ")}`);
  }
  // Where it runs narrows the URL rule: outside the dev stack https to a non-loopback host only.
  const devStack = options.devStack ?? false;
  const refusedUrls = Object.entries(result.data.notices?.teams ?? {}).flatMap(([owner, url]) =>
    isAllowedFetchUrl(url, devStack) ? [] : [`notices.teams.${owner}`],
  );
  if (refusedUrls.length > 0) {
    const rule =
      "must be https to a non-loopback host (plain http and loopback only with BROKER_DEV_STACK=true)";
    throw new ConfigError(
      `BROKER_POLICY_FILE: invalid policy:\n  ${refusedUrls.map((r) => `${r}: ${rule}`).join("\n  ")}`,
    );
  }
  return compilePolicy(result.data);
}
