import type { z } from "zod";
import { duplicateKeyPaths } from "../net/json-text.js";
import { isAllowedFetchUrl } from "../net/loopback.js";
import { resolveMintingClientId, type BrokerIdentities } from "./minting-identity.js";
import { compilePolicy, type Policy } from "./policy.js";
import { policySchema, profileSchema, type PolicyDocument, type Profile } from "./schema.js";

/**
 * The one validation of a policy file: the broker's start (load.ts) and the offline check
 * (`token-broker policy check`) both run exactly this, so a file that passes the check is a file
 * the broker loads. Every problem is collected, each with the JSON path of what is wrong.
 */

export interface PolicyProblem {
  /** A JSON path into the file, e.g. `$.grants[0].profiles[1]`. */
  path: string;
  message: string;
}

export interface PolicyCheckOptions {
  /** AZURE_CLIENT_ID and BROKER_MINTING_CLIENT_ID: which managed-identity profiles may mint. */
  identities: BrokerIdentities;
  /** BROKER_DEV_STACK: Teams URLs may be plain http to loopback (the webhook sink). */
  devStack?: boolean;
}

export type PolicyCheck =
  { ok: true; document: PolicyDocument; policy: Policy } | { ok: false; problems: PolicyProblem[] };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `$.a.b[0]["odd-key"]`: dot for identifier keys, brackets for indices and any other key. */
export function jsonPath(segments: readonly PropertyKey[]): string {
  return `$${segments
    .map((s) =>
      typeof s === "number"
        ? `[${s}]`
        : typeof s === "string" && IDENTIFIER.test(s)
          ? `.${s}`
          : `[${JSON.stringify(String(s))}]`,
    )
    .join("")}`;
}

export function formatProblem(problem: PolicyProblem): string {
  return `${problem.path}: ${problem.message}`;
}

/** Where the JSON text breaks, as a line and column; never the text itself (it could hold anything). */
function notJson(error: unknown, text: string): string {
  const at = /at position (\d+)/.exec(error instanceof Error ? error.message : "");
  if (at === null) return "is not valid JSON";
  const before = text.slice(0, Number(at[1])).split("\n");
  return `is not valid JSON (line ${before.length}, column ${(before.at(-1) ?? "").length + 1})`;
}

/** Managed-identity profiles that would mint as the control identity, or as nobody. */
function mintingProblems(profiles: Record<string, Profile>, identities: BrokerIdentities): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  for (const [name, profile] of Object.entries(profiles)) {
    if (profile.kind !== "entra" || profile.credential.type !== "managed-identity") continue;
    const resolved = resolveMintingClientId(profile.credential.clientId, identities);
    if (!resolved.ok) {
      problems.push({
        path: jsonPath(["profiles", name, ...resolved.field.split(".")]),
        message: resolved.message,
      });
    }
  }
  return problems;
}

/** Where it runs narrows the URL rule: outside the dev stack https to a non-loopback host only. */
function teamsProblems(teams: Record<string, unknown>, devStack: boolean): PolicyProblem[] {
  return Object.entries(teams).flatMap(([owner, url]) =>
    typeof url !== "string" || isAllowedFetchUrl(url, devStack)
      ? []
      : [
          {
            path: jsonPath(["notices", "teams", owner]),
            // Never the URL: it carries the workflow's key.
            message:
              "must be https to a non-loopback host (plain http and loopback only with BROKER_DEV_STACK=true)",
          },
        ],
  );
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

/** The profiles of a file the schema refused that are valid on their own: their identity rules still apply. */
function validProfiles(json: unknown): Record<string, Profile> {
  const out: Record<string, Profile> = {};
  for (const [name, raw] of Object.entries(record(record(json)["profiles"]))) {
    const parsed = profileSchema.safeParse(raw);
    if (parsed.success) out[name] = parsed.data;
  }
  return out;
}

/** JSON text as a value (never undefined for JSON text), with its repeated keys as problems. */
export function jsonDocument(text: string): { json?: unknown; problems: PolicyProblem[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problems: [{ path: "$", message: notJson(error, text) }] };
  }
  // JSON.parse keeps the last of repeated keys, a reviewer's eye may stop at the first.
  const problems = duplicateKeyPaths(text).map((path) => ({
    path: jsonPath(path),
    message: "repeats a key of the same object (JSON readers disagree on which one counts)",
  }));
  return { json, problems };
}

/** zod issues as problems: one per unknown key, a record key's own rule rather than zod's words. */
export function schemaProblems(error: z.ZodError): PolicyProblem[] {
  return error.issues.flatMap((issue): PolicyProblem[] => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ path: jsonPath([...issue.path, key]), message: "unknown key" }));
    }
    const message =
      issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    return [{ path: jsonPath(issue.path), message }];
  });
}

/** Validates policy JSON text: the document and its compiled policy, or every problem found. */
export function checkPolicyText(text: string, options: PolicyCheckOptions): PolicyCheck {
  const { json, problems } = jsonDocument(text);
  if (json === undefined) return { ok: false, problems };
  const parsed = policySchema.safeParse(json);
  const devStack = options.devStack ?? false;
  if (parsed.success) {
    problems.push(
      ...mintingProblems(parsed.data.profiles, options.identities),
      ...teamsProblems(parsed.data.notices?.teams ?? {}, devStack),
    );
  } else {
    problems.push(
      ...schemaProblems(parsed.error),
      ...mintingProblems(validProfiles(json), options.identities),
    );
    // A URL the schema refused already has its line.
    const seen = new Set(problems.map((p) => p.path));
    const teams = teamsProblems(record(record(record(json)["notices"])["teams"]), devStack);
    problems.push(...teams.filter((p) => !seen.has(p.path)));
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, document: parsed.data, policy: compilePolicy(parsed.data) };
}
