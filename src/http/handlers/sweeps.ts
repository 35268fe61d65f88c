import { z } from "zod";
import { audited } from "../audited.js";
import { ROLES } from "../caller.js";
import { sweepInProgress } from "../problem.js";
import { parseQuery } from "../query.js";
import { json } from "../route.js";

/** Routes that run a timer's work on demand (not under `admin/`: the Functions host reserves it). */

const noQuery = z.strictObject({});
const NO_STORE = { "cache-control": "no-store" };

/**
 * POST /api/sweeps/notices: runs the expiry-notice sweep now and answers its report (names
 * and reasons only). While another sweep holds the lease it answers 409 `sweep_in_progress` at
 * once rather than waiting: that sweep sends whatever is due.
 */
export const postNoticeSweep = audited("audit.admin", "notice-sweep", ROLES.secretsAdmin, async (req, rt) => {
  parseQuery(req, noQuery);
  const outcome = await rt.notices.run("route");
  if (!outcome.acquired) throw sweepInProgress("expiry-notice");
  return json(200, outcome.value, NO_STORE);
});

/** POST /api/sweeps/rotation: the rotation sweep now; 409 while another holds the lease. */
export const postRotationSweep = audited(
  "audit.admin",
  "rotation-sweep",
  ROLES.secretsAdmin,
  async (req, rt) => {
    parseQuery(req, noQuery);
    const outcome = await rt.rotation.sweep("route");
    if (!outcome.acquired) throw sweepInProgress("rotation");
    return json(200, outcome.value, NO_STORE);
  },
);
