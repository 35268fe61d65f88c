import type { z } from "zod";
import { problems } from "./problem.js";
import { fieldErrors } from "./request-body.js";

/** Query parameters -> a value of the schema: each at most once, unknown ones refused (400 naming them). */
export function parseQuery<T extends z.ZodType>(query: URLSearchParams, schema: T): z.output<T> {
  const fields: Record<string, string> = {};
  for (const [key, value] of query) {
    if (key in fields) {
      throw problems.badRequest("The query is invalid.", [{ field: key, message: "repeated" }]);
    }
    fields[key] = value;
  }
  const result = schema.safeParse(fields);
  if (!result.success)
    throw problems.badRequest("The query is invalid.", fieldErrors(result.error, "(query)"));
  return result.data;
}
