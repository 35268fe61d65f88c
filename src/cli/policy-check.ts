import { readFileSync } from "node:fs";
import { checkPolicyText, formatProblem, type PolicyProblem } from "../policy/check.js";
import { parseExpectations, runExpectations, type ExpectationResult } from "../policy/expectations.js";
import type { BrokerIdentities } from "../policy/minting-identity.js";
import { GUID, nonBlank } from "./commands/args.js";
import { CliError, UsageError } from "./errors.js";
import { grantLines } from "./policy-text.js";
import { sanitize, type Painter } from "./table.js";

/**
 * `token-broker policy check FILE [--expect FILE]`: offline, with the broker's own check
 * (src/policy/check.ts), so what passes here is what the broker loads; then the expectation
 * cases through the explainer. Exit 1 on any problem or failed case, 2 for usage.
 */

export interface PolicyCheckArgs {
  file: string;
  expect?: string;
  controlClientId?: string;
  mintingClientId?: string;
  devStack?: boolean;
  json?: boolean;
}

interface Output {
  out: (text: string) => void;
  json: (value: unknown) => void;
  paint: () => Painter;
}

/** A file the command was pointed at; a usage error naming it (and what it is for) when unreadable. */
export function readInputFile(file: string, what?: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const which = what !== undefined ? `the ${what} file ` : "";
    throw new UsageError(`cannot read ${which}${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** A flag, else the setting the broker reads (blank is unset, as there); never the value in an error. */
function identity(flag: string | undefined, env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (flag !== undefined) return flag;
  const value = nonBlank(env[name]);
  if (value === "") return undefined;
  if (!GUID.test(value)) throw new UsageError(`${name} must be a client id GUID`);
  return value.toLowerCase();
}

export function identitiesFrom(args: PolicyCheckArgs, env: NodeJS.ProcessEnv): BrokerIdentities {
  return {
    controlClientId: identity(args.controlClientId, env, "AZURE_CLIENT_ID"),
    mintingClientId: identity(args.mintingClientId, env, "BROKER_MINTING_CLIENT_ID"),
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function failed(file: string, problems: readonly PolicyProblem[], o: Output, asJson: boolean): never {
  if (asJson) o.json({ file, ok: false, problems });
  else o.out(problems.map((p) => `${sanitize(formatProblem(p))}\n`).join(""));
  throw new CliError(`${file}: ${plural(problems.length, "problem")}`);
}

function caseLabel(r: ExpectationResult): string {
  return `${r.index}${r.name !== undefined ? ` ${JSON.stringify(sanitize(r.name))}` : ""}`;
}

function resultText(r: ExpectationResult, p: Painter): string {
  const e = r.explanation;
  if (r.passed) return `ok    ${caseLabel(r)}: ${e.profile} ${e.decision}\n`;
  const lines = [
    `${p.bold("FAIL")}  ${caseLabel(r)}: ${e.profile}: expected ${r.expected}, got ${e.decision}`,
    ...(e.profileExists ? [] : ["no such profile in the policy"]),
    ...grantLines(e.grants, e.profile, p),
  ];
  return `${lines.map((l, i) => (i === 0 ? l : `      ${l}`)).join("\n")}\n`;
}

export function runPolicyCheck(args: PolicyCheckArgs, env: NodeJS.ProcessEnv, o: Output): void {
  const identities = identitiesFrom(args, env);
  const asJson = args.json === true;
  const checked = checkPolicyText(readInputFile(args.file), { identities, devStack: args.devStack === true });
  if (!checked.ok) failed(args.file, checked.problems, o, asJson);
  const summary = `${args.file}: valid (${plural(checked.policy.profileNames().length, "profile")}, ${plural(checked.document.grants.length, "grant")})`;
  if (args.expect === undefined) {
    if (asJson) o.json({ file: args.file, ok: true, problems: [] });
    else o.out(`${summary}\n`);
    return;
  }
  const expectations = parseExpectations(readInputFile(args.expect));
  if (!expectations.ok) failed(args.expect, expectations.problems, o, asJson);
  const results = runExpectations(checked.policy, expectations.cases);
  const failures = results.filter((r) => !r.passed).length;
  if (asJson) {
    o.json({
      file: args.file,
      ok: failures === 0,
      problems: [],
      expectations: {
        file: args.expect,
        results: results.map((r) => ({
          index: r.index,
          ...(r.name !== undefined ? { name: r.name } : {}),
          expected: r.expected,
          passed: r.passed,
          ...r.explanation,
        })),
      },
    });
  } else {
    const p = o.paint();
    o.out(results.map((r) => resultText(r, p)).join(""));
    const hold = results.length === 1 ? "holds" : "hold";
    if (failures === 0) o.out(`${summary}; ${plural(results.length, "expectation")} ${hold}\n`);
  }
  if (failures > 0) {
    throw new CliError(`${args.expect}: ${failures} of ${plural(results.length, "expectation")} failed`);
  }
}
