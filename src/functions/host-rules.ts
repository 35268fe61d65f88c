import type { Registrations } from "./registrations.js";

/**
 * The Functions host's own rules for what an app may register, checked by the local host at start
 * so a registration that Azure would leave in an error state (answering 404) cannot pass locally.
 * From Azure/azure-functions-host: `ScriptHost.ValidateHttpFunction` refuses routes that, trimmed
 * of '/' and lower-cased, start with "admin" or "runtime" (a plain prefix test: "administration/x"
 * too; the `api` route prefix does not help), and its `FunctionNameValidationRegex` allows names
 * matching `^[a-z][a-z0-9_\-]{0,127}$` (ignoring case) other than "host".
 */

const RESERVED_ROUTE_PREFIXES = ["admin", "runtime"] as const;
const FUNCTION_NAME = /^[a-z][a-z0-9_-]{0,127}$/i;

/** Why the host would refuse this HTTP route, or undefined if it accepts it. */
export function routeProblem(route: string): string | undefined {
  const trimmed = route.replace(/^\/+|\/+$/g, "").toLowerCase();
  const reserved = RESERVED_ROUTE_PREFIXES.find((p) => trimmed.startsWith(p));
  return reserved === undefined
    ? undefined
    : `route "${route}" conflicts with the Functions host's built-in "${reserved}" routes`;
}

/** Why the host would refuse this function name, or undefined if it accepts it. */
export function functionNameProblem(name: string): string | undefined {
  if (!FUNCTION_NAME.test(name)) return `function name "${name}" does not match ${FUNCTION_NAME.source}`;
  if (name.toLowerCase() === "host") return `function name "${name}" is reserved`;
  return undefined;
}

/** Every problem of the table, one message each (empty when the host would accept all of it). */
export function registrationProblems(registrations: Registrations): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const names = [...registrations.http.map((r) => r.name), ...registrations.timers.map((t) => t.name)];
  for (const name of names) {
    const problem = functionNameProblem(name);
    if (problem !== undefined) problems.push(problem);
    // The host refuses a second function of the same name (names are case-insensitive there).
    if (seen.has(name.toLowerCase())) problems.push(`function name "${name}" is used twice`);
    seen.add(name.toLowerCase());
  }
  for (const route of registrations.http) {
    const problem = routeProblem(route.route);
    if (problem !== undefined) problems.push(`${route.name}: ${problem}`);
  }
  return problems;
}

/** Throws one error naming every registration the Functions host would refuse. */
export function assertHostAccepts(registrations: Registrations): void {
  const problems = registrationProblems(registrations);
  if (problems.length > 0) {
    throw new Error(`The Azure Functions host would refuse: ${problems.join("; ")}`);
  }
}
