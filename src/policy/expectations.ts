import { z } from "zod";
import { explainClaims, issuerKindWire } from "../wire/policy-explain.js";
import { jsonDocument, schemaProblems, type PolicyProblem } from "./check.js";
import { explain, explainSubject, type Explanation } from "./explain.js";
import type { Policy } from "./policy.js";

/**
 * Expectation files for `token-broker policy check --expect`: cases a pull request pins, who must
 * and who must not get each profile, run offline through the explainer (the token route's tests).
 */

const expectationCase = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  claims: explainClaims,
  /** How to take the claims; by default as the broker's explainer does (explain.ts). */
  issuer: issuerKindWire.optional(),
  profile: z.string().min(1).max(128),
  allow: z.boolean(),
});
export type ExpectationCase = z.infer<typeof expectationCase>;

const cases = z.array(expectationCase).max(10_000);
/** The same cases with room for a `$schema` or a comment-free wrapper: `{"cases": […]}`. */
const wrapped = z.strictObject({ $schema: z.string().optional(), cases });

export type ExpectationsRead =
  { ok: true; cases: ExpectationCase[] } | { ok: false; problems: PolicyProblem[] };

/** An array of cases, or `{"cases": […]}`: every problem with its JSON path. */
export function parseExpectations(text: string): ExpectationsRead {
  const { json, problems } = jsonDocument(text);
  if (json === undefined) return { ok: false, problems };
  const parsed = Array.isArray(json) ? cases.safeParse(json) : wrapped.safeParse(json);
  if (!parsed.success) return { ok: false, problems: [...problems, ...schemaProblems(parsed.error)] };
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, cases: Array.isArray(parsed.data) ? parsed.data : parsed.data.cases };
}

export interface ExpectationResult {
  /** Position in the file's cases. */
  index: number;
  name: string | undefined;
  expected: "allow" | "deny";
  passed: boolean;
  explanation: Explanation;
}

/** Each case through the explainer; its decision is the token route's (explain.ts). */
export function runExpectations(policy: Policy, list: readonly ExpectationCase[]): ExpectationResult[] {
  return list.map((c, index) => {
    const explanation = explain(policy, explainSubject(c.claims, c.issuer), c.profile);
    const expected = c.allow ? "allow" : "deny";
    return { index, name: c.name, expected, passed: explanation.decision === expected, explanation };
  });
}
