import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { dispatch } from "../http/dispatch.js";
import type { HttpRoute } from "../http/route.js";
import { MAX_BODY_BYTES, readBodyLimited, type BrokerRequest } from "../http/types.js";
import { withInvocationLog } from "../log.js";
import type { Runtime } from "../runtime.js";

/** Functions HttpRequest <-> our host-agnostic shapes; translation only, no behaviour of its own. */

export async function toBrokerRequest(req: HttpRequest): Promise<BrokerRequest> {
  const url = new URL(req.url);
  const headers: Record<string, string> = {};
  req.headers.forEach((value, key) => {
    headers[key.toLowerCase()] = value;
  });
  const declared = Number(headers["content-length"] ?? "0");
  const body = declared > MAX_BODY_BYTES ? null : await readBodyLimited(req.body, MAX_BODY_BYTES);
  return {
    method: req.method,
    path: url.pathname.replace(/^\/api(?=\/)/, ""),
    query: url.searchParams,
    rawQuery: url.search.slice(1),
    headers,
    params: { ...req.params },
    body,
  };
}

/** The `handler` given to app.http for one route of the registration table. */
export function azureHttpHandler(
  route: HttpRoute,
  runtime: Runtime | Promise<Runtime>,
): (req: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  // Every line written while the request runs goes through its InvocationContext (level, invocation id).
  return (req, context) =>
    withInvocationLog(context, async () => {
      const response = await dispatch(route, await runtime, await toBrokerRequest(req));
      return { status: response.status, headers: response.headers, body: response.body ?? "" };
    });
}
