import type { GrantExplanationWire, PolicyExplainWire } from "../wire/policy-explain.js";
import { sanitize, type Painter } from "./table.js";

/**
 * Explanations for people: the grants that name the profile, each claim matched or not and why.
 * Everything shown is the policy's (names, descriptions, expected values) or fixed words; the
 * explained claims' values are never in an answer, so they cannot be printed.
 */

type Claim = GrantExplanationWire["claims"][number];

const quote = (s: string) => JSON.stringify(sanitize(s));

function expected(c: Claim): string {
  const e = c.expected;
  if (typeof e === "string") return `= ${quote(e)}`;
  if (Array.isArray(e)) return `one of ${e.map(quote).join(", ")}`;
  return `~ ${quote(e.pattern)}`;
}

function grantHeading(g: GrantExplanationWire, p: Painter): string {
  const description = g.description !== undefined ? ` ${quote(g.description)}` : "";
  const verdict = g.matched ? p.bold("matches") : "does not match";
  return `grant ${g.index}${description}: ${verdict}`;
}

/** The lines for the grants that name `profile` (the only ones that can give it). */
export function grantLines(grants: readonly GrantExplanationWire[], profile: string, p: Painter): string[] {
  const naming = grants.filter((g) => g.namesProfile);
  if (naming.length === 0) return [`no grant names ${quote(profile)}`];
  return naming.flatMap((g) => [
    grantHeading(g, p),
    ...(g.appliesToIssuer
      ? []
      : ["  no iss in its match: it applies to Entra tokens only, and these claims are another issuer's"]),
    ...g.claims.map(
      (c) => `  ${c.matched ? "✓" : "✗"} ${sanitize(c.claim)} ${expected(c)}: ${p.dim(sanitize(c.reason))}`,
    ),
  ]);
}

/** `token-broker policy explain`: the decision, and with Policy.Read the reasons. */
export function explanationText(answer: PolicyExplainWire, p: Painter): string {
  const lines = [`${quote(answer.profile)}: ${p.bold(answer.decision)}`];
  if (answer.grants === undefined) {
    lines.push(p.dim("(your own claims; the reasons need the app role Policy.Read)"));
    return `${lines.join("\n")}\n`;
  }
  const whose = answer.subject === "caller" ? "your verified claims" : `the ${answer.subject} sent`;
  lines.push(
    p.dim(`${whose}, taken as ${answer.issuerKind === "trusted" ? "another trusted issuer's" : "Entra's"}`),
  );
  if (answer.profileExists === false) lines.push("no such profile in the policy");
  for (const w of answer.warnings ?? []) lines.push(`warning: ${sanitize(w)}`);
  lines.push(...grantLines(answer.grants, answer.profile, p));
  return `${lines.join("\n")}\n`;
}
