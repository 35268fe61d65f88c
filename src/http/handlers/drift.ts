import type { z } from "zod";
import { driftCsv } from "../../drift/drift-csv.js";
import type { DriftAnswer } from "../../wire/drift.js";
import { json, type RouteHandler } from "../route.js";
import type { driftQuery } from "../schemas.js";

/** About credentials (metadata only), read live upstream: never cached by anyone. */
const NO_STORE = { "cache-control": "no-store" };

/**
 * `GET /api/drift`: upstream credentials the vault does not know, and vault credentials upstream
 * no longer has; a part upstream that could not be read is listed under `unreadable`, the rest
 * stands. Role, audit line and query: declared in src/functions/registrations.ts.
 */
export const getDrift: RouteHandler<z.output<typeof driftQuery>> = async ({ query }, rt) => {
  const report = await rt.drift.report();
  if (query.format === "csv") {
    return {
      status: 200,
      headers: {
        "content-type": "text/csv; charset=utf-8; header=present",
        "content-disposition": 'attachment; filename="drift.csv"',
        ...NO_STORE,
      },
      body: driftCsv(report),
    };
  }
  // The answer's type is the wire schema the CLI parses with.
  const answer: DriftAnswer = report;
  return json(200, answer, NO_STORE);
};
