import { sweepInProgress } from "../problem.js";
import { json, type RouteHandler } from "../route.js";

/**
 * Routes that run a timer's work on demand (not under `admin/`: the Functions host reserves it).
 * Role, audit line and query: declared in src/functions/registrations.ts.
 */

const NO_STORE = { "cache-control": "no-store" };

/**
 * POST /api/sweeps/notices: runs the expiry-notice sweep now and answers its report (names
 * and reasons only). While another sweep holds the lease it answers 409 `sweep_in_progress` at
 * once rather than waiting: that sweep sends whatever is due.
 */
export const postNoticeSweep: RouteHandler = async (_req, rt) => {
  const outcome = await rt.notices.run("route");
  if (!outcome.acquired) throw sweepInProgress("expiry-notice");
  return json(200, outcome.value, NO_STORE);
};

/** POST /api/sweeps/rotation: the rotation sweep now; 409 while another holds the lease. */
export const postRotationSweep: RouteHandler = async (_req, rt) => {
  const outcome = await rt.rotation.sweep("route");
  if (!outcome.acquired) throw sweepInProgress("rotation");
  return json(200, outcome.value, NO_STORE);
};
