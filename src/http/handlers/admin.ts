import { auditIdentity, type Principal } from "../../auth/principal.js";
import type { Runtime } from "../../runtime.js";
import { requireRole, ROLES } from "../caller.js";
import { toProblem } from "../errors.js";
import { problems } from "../problem.js";
import { parseQuery } from "../query.js";
import { json, type Handler } from "../route.js";
import { z } from "zod";

/** Admin routes that run a timer's work on demand. */

const noQuery = z.strictObject({});
/** About how long a sweep takes: when to ask again after a 409. */
const RETRY_AFTER_SECONDS = 30;

/**
 * POST /api/admin/notice-sweep: runs the expiry-notice sweep now and answers its report (names
 * and reasons only). While another sweep holds the lease it answers 409 `sweep_in_progress` at
 * once rather than waiting: that sweep sends whatever is due.
 */
export const postNoticeSweep: Handler = async (req, rt: Runtime) => {
  let principal: Principal | undefined;
  try {
    principal = await requireRole(req, rt, ROLES.secretsAdmin);
    parseQuery(req.query, noQuery);
    const outcome = await rt.notices.run("route");
    if (!outcome.acquired) {
      throw problems
        .conflict("sweep_in_progress", "An expiry-notice sweep is already running; it sends what is due.")
        .withHeaders({ "retry-after": String(RETRY_AFTER_SECONDS) });
    }
    rt.log.info("audit.admin", {
      action: "notice-sweep",
      outcome: "ok",
      status: 200,
      caller: auditIdentity(principal),
    });
    return json(200, outcome.value, { "cache-control": "no-store" });
  } catch (error) {
    const problem = toProblem(error, rt.log);
    rt.log[problem.status >= 500 ? "error" : "info"]("audit.admin", {
      action: "notice-sweep",
      outcome: problem.status === 403 ? "denied" : problem.status >= 500 ? "failed" : "rejected",
      status: problem.status,
      code: problem.code,
      ...(principal !== undefined ? { caller: auditIdentity(principal) } : {}),
    });
    throw problem;
  }
};
