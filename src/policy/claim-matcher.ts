import { compileClaimPattern, MAX_CLAIM_LENGTH } from "./claim-pattern.js";
import type { ClaimMatcher } from "./schema.js";

/**
 * One claim of a grant's `match`, compiled once at load. The grant check (entitlements) and the
 * explainer (explain.ts) call the very same test, so an explanation cannot disagree with a decision.
 */

export type MatcherKind = "exact" | "any-of" | "pattern";

/** Why a claim matched or not: fixed words, never the claim's value (it could be anything). */
export interface ClaimVerdict {
  readonly matched: boolean;
  readonly reason: string;
}

export interface CompiledClaim {
  claim: string;
  kind: MatcherKind;
  /** The policy's own value (for the explainer's role-holders; never the caller's). */
  expected: ClaimMatcher;
  test: (claim: unknown) => ClaimVerdict;
}

// Frozen constants: a test allocates nothing, it runs on every grant of every token request.
const verdict = (matched: boolean, reason: string): ClaimVerdict => Object.freeze({ matched, reason });
const ABSENT = verdict(false, "claim absent");
const NOT_STRING = verdict(false, "not a string");
const EMPTY_LIST = verdict(false, "an empty list");
const TOO_LONG = verdict(false, `longer than ${MAX_CLAIM_LENGTH} characters`);

const WORDS: Record<MatcherKind, { yes: string; no: string; match: string }> = {
  exact: { yes: "equal", no: "value differs", match: "is equal" },
  "any-of": { yes: "in list", no: "not in list", match: "is in the list" },
  pattern: { yes: "pattern matches", no: "pattern does not match", match: "matches the pattern" },
};

function kindOf(matcher: ClaimMatcher): MatcherKind {
  if (typeof matcher === "string") return "exact";
  return Array.isArray(matcher) ? "any-of" : "pattern";
}

/** Claim values compare as strings; a list-valued claim matches when any of its values does. */
export function compileClaim(claim: string, matcher: ClaimMatcher): CompiledClaim {
  let accepts: (value: string) => boolean;
  if (typeof matcher === "string") {
    accepts = (v) => v === matcher;
  } else if (Array.isArray(matcher)) {
    const set = new Set(matcher);
    accepts = (v) => set.has(v);
  } else {
    // RE2: linear in the claim's length; anchored whatever the author wrote, compiled once at load.
    accepts = compileClaimPattern(matcher.pattern);
  }
  const kind = kindOf(matcher);
  const words = WORDS[kind];
  const yes = verdict(true, words.yes);
  const no = verdict(false, words.no);
  const listYes = verdict(true, `a value of the list claim ${words.match}`);
  const listNo = verdict(false, `no value of the list claim ${words.match}`);
  const test = (value: unknown): ClaimVerdict => {
    // A claim longer than any policy value matches nothing (and costs nothing to refuse).
    if (typeof value === "string")
      return value.length > MAX_CLAIM_LENGTH ? TOO_LONG : accepts(value) ? yes : no;
    if (value === undefined) return ABSENT;
    if (!Array.isArray(value)) return NOT_STRING;
    let strings = 0;
    let long = 0;
    for (const v of value as unknown[]) {
      if (typeof v !== "string") continue;
      strings++;
      if (v.length > MAX_CLAIM_LENGTH) long++;
      else if (accepts(v)) return listYes;
    }
    if (value.length === 0) return EMPTY_LIST;
    if (strings === 0) return NOT_STRING;
    return long === strings ? TOO_LONG : listNo;
  };
  return { claim, kind, expected: matcher, test };
}
