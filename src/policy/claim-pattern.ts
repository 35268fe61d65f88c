import { RE2JS } from "re2js";

/**
 * Grant patterns run on RE2 (re2js): matching time is linear in the claim's length whatever the
 * pattern, so a caller-controlled claim (a GitHub `sub`) cannot make the instance backtrack for
 * seconds. RE2 has no backreferences or lookaround; such a pattern is refused at load.
 */

/** Claims longer than this never match a grant (no real `sub`, `appid` or `tid` comes near it). */
export const MAX_CLAIM_LENGTH = 1024;

export type ClaimPattern = (value: string) => boolean;

/** Compiled once at load; anchored whatever the author wrote. Throws when RE2 cannot compile it. */
export function compileClaimPattern(pattern: string): ClaimPattern {
  // Compiled alone first: a pattern that balances on its own cannot escape the anchoring group.
  RE2JS.compile(pattern);
  const re = RE2JS.compile(`^(?:${pattern})$`);
  return (value) => re.testExact(value);
}

export function isClaimPattern(pattern: string): boolean {
  try {
    compileClaimPattern(pattern);
    return true;
  } catch {
    return false;
  }
}
