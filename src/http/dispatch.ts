import type { Runtime } from "../runtime.js";
import { toProblem } from "./errors.js";
import { problems } from "./problem.js";
import type { HttpRoute } from "./route.js";
import type { BrokerRequest, BrokerResponse, HttpMethod } from "./types.js";

/**
 * The one entry for every HTTP request, whichever host received it: method check (405 with
 * Allow), the handler, every error turned into problem+json, and its latency metric. Never throws.
 */
export async function dispatch(
  route: HttpRoute,
  runtime: Runtime,
  req: BrokerRequest,
): Promise<BrokerResponse> {
  const started = performance.now();
  let response: BrokerResponse;
  try {
    const declared = route.methods[req.method.toUpperCase() as HttpMethod];
    if (declared === undefined) throw problems.methodNotAllowed(Object.keys(route.methods));
    response = await declared.run(req, runtime);
  } catch (error) {
    response = toProblem(error, runtime.log).toResponse();
  }
  response.headers["x-content-type-options"] = "nosniff";
  // The route's template, never the path asked for: a closed set of labels.
  runtime.metrics.request(route.route, req.method, response.status, (performance.now() - started) / 1000);
  return response;
}
