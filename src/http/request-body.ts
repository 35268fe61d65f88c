import { z } from "zod";
import { hasDuplicateKeys } from "../net/json-text.js";
import { fieldName, unknownFieldsMessage } from "./field-name.js";
import { problems } from "./problem.js";
import type { BrokerRequest } from "./types.js";
import { MAX_BODY_BYTES } from "./types.js";

export type BodyMediaType = "application/json" | "application/x-www-form-urlencoded";

/** The media type of the body, checked against what the route accepts (415 otherwise). */
export function mediaTypeOf(req: BrokerRequest, accepted: readonly BodyMediaType[]): BodyMediaType {
  const header = req.headers["content-type"] ?? "";
  // The common exact forms skip the parsing below.
  if (header === "application/json" || header === "application/x-www-form-urlencoded") {
    const exact = accepted.find((a) => a === header);
    if (exact !== undefined) return exact;
  }
  const [type = "", ...params] = header.split(";").map((p) => p.trim().toLowerCase());
  const charset = params
    .find((p) => p.startsWith("charset="))
    ?.slice("charset=".length)
    .replace(/"/g, "");
  const match = accepted.find((a) => a === type);
  if (match === undefined || (charset !== undefined && charset !== "utf-8")) {
    throw problems.unsupportedMediaType(accepted);
  }
  return match;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function bodyText(req: BrokerRequest): string {
  if (req.body === null) throw problems.payloadTooLarge(MAX_BODY_BYTES);
  try {
    return utf8.decode(req.body);
  } catch {
    throw problems.badRequest("The body is not valid UTF-8.");
  }
}

/** zod issues -> field names and rule messages; never the offending value, nor a key not shaped like a field. */
export function fieldErrors(error: z.ZodError, whole = "(body)"): { field: string; message: string }[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(fieldName).join(".") : whole,
    message: issue.code === "unrecognized_keys" ? unknownFieldsMessage(issue.keys) : issue.message,
  }));
}

function parseWith<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (!result.success) throw problems.badRequest("The request body is invalid.", fieldErrors(result.error));
  return result.data;
}

/** JSON text -> a value of the schema, or 400 naming the fields (never the values). */
export function parseJsonText<T extends z.ZodType>(text: string, schema: T): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw problems.badRequest("The body is not valid JSON.");
  }
  if (hasDuplicateKeys(text)) throw problems.badRequest("The body repeats a key within one object.");
  return parseWith(schema, json);
}

export function parseJsonBody<T extends z.ZodType>(req: BrokerRequest, schema: T): z.output<T> {
  return parseJsonText(bodyText(req), schema);
}

/**
 * parseJsonBody for small bodies without secrets that repeat (a service asks for the same profile all day):
 * validating is a pure function of the text, so a validated text's result is reused, frozen.
 * Bounded by entries and by text length; only successes are kept.
 */
export function memoisedJsonBody<T extends z.ZodType>(
  schema: T,
  maxEntries = 1024,
  maxLength = 512,
): (req: BrokerRequest) => Readonly<z.output<T>> {
  const seen = new Map<string, Readonly<z.output<T>>>();
  return (req) => {
    const text = bodyText(req);
    const hit = seen.get(text);
    if (hit !== undefined) return hit;
    const value = Object.freeze(parseJsonText(text, schema));
    if (text.length <= maxLength) {
      if (seen.size >= maxEntries) seen.clear();
      seen.set(text, value);
    }
    return value;
  };
}

/** Form bodies: every field at most once (a repeated field is ambiguous, so refused). */
export function parseFormBody<T extends z.ZodType>(req: BrokerRequest, schema: T): z.output<T> {
  const params = new URLSearchParams(bodyText(req));
  const fields: Record<string, string> = {};
  for (const [key, value] of params) {
    if (key in fields)
      throw problems.badRequest("The request body is invalid.", [
        { field: fieldName(key), message: "repeated" },
      ]);
    fields[key] = value;
  }
  return parseWith(schema, fields);
}
