import type { z } from "zod";
import { problemBodyWire } from "../wire/problem-body.js";
import { CliError, oneLine } from "./errors.js";
import { describeFieldError } from "./field-flags.js";

/** How the CLI reads the broker's answers: problems, JSON bodies, schema checks, network failures. */

/** `<detail> (<status> <code>)`, with the fields a 400 names as the CLI's flags (never their values). */
export async function problemError(res: Response, sent?: unknown): Promise<CliError> {
  const text = await res.text().catch(() => "");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const problem = problemBodyWire.safeParse(body);
  if (!problem.success) {
    return new CliError(`the broker answered ${res.status} ${oneLine(res.statusText)}`.trim());
  }
  const { detail, status, code, errors } = problem.data;
  const request = typeof sent === "object" && sent !== null ? (sent as { scopes?: string[] }) : undefined;
  const fields = errors?.length ? `: ${errors.map((e) => describeFieldError(e, request)).join("; ")}` : "";
  let said = fields === "" ? detail : `${detail.replace(/\.$/, "")}${fields}`;
  // A migration without --org: the organizations the rotator's grants serve, to choose from.
  const organizations = (body as { organizations?: unknown }).organizations;
  if (code === "organization_required" && Array.isArray(organizations) && organizations.length > 0) {
    said = `${said.replace(/\.$/, "")}; grants are bound to: ${organizations.map(String).join(", ")}`;
  }
  return new ProblemError(oneLine(`${said} (${status} ${code})`, 500), status, code);
}

/** A problem answer of the broker: commands may say more about some codes. */
export class ProblemError extends CliError {
  override name = "ProblemError";
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export async function json(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(`the broker answered ${res.status} with a body that is not JSON`);
  }
}

export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const where = first?.path.length ? first.path.join(".") : "(root)";
  throw new CliError(oneLine(`unexpected answer from the broker: ${where}: ${first?.message ?? "invalid"}`));
}

export function networkReason(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return "timed out";
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return oneLine(cause.message, 120);
  return error instanceof Error ? oneLine(error.message, 120) : "network error";
}
