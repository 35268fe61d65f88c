import type { z } from "zod";
import { fieldName } from "./field-name.js";
import { problems } from "./problem.js";
import { fieldErrors } from "./request-body.js";
import type { BrokerRequest } from "./types.js";

function wellFormed(raw: string): boolean {
  try {
    for (const part of raw.split(/[&=]/)) decodeURIComponent(part.replace(/\+/g, " "));
    return true;
  } catch {
    return false;
  }
}

/**
 * Query parameters -> a value of the schema: each at most once, unknown ones refused, and
 * malformed percent-encoding refused rather than read leniently (400 naming them).
 */
export function parseQuery<T extends z.ZodType>(req: BrokerRequest, schema: T): z.output<T> {
  if (req.rawQuery !== undefined && !wellFormed(req.rawQuery)) {
    throw problems.badRequest("The query is not valid percent-encoding.");
  }
  const query = req.query;
  const fields: Record<string, string> = {};
  for (const [key, value] of query) {
    if (key in fields) {
      throw problems.badRequest("The query is invalid.", [{ field: fieldName(key), message: "repeated" }]);
    }
    fields[key] = value;
  }
  const result = schema.safeParse(fields);
  if (!result.success)
    throw problems.badRequest("The query is invalid.", fieldErrors(result.error, "(query)"));
  return result.data;
}
