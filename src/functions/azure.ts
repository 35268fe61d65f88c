import { app, type HttpRequest, type HttpResponseInit, type Timer } from "@azure/functions";
import { loadConfig } from "../config.js";
import { dispatch } from "../http/dispatch.js";
import type { HttpRoute } from "../http/route.js";
import { HTTP_METHODS, MAX_BODY_BYTES, readBodyLimited, type BrokerRequest } from "../http/types.js";
import { createRuntime } from "../runtime.js";
import { registrations } from "./registrations.js";

/**
 * Azure Functions entry (package.json `main`): the registration table -> app.http / app.timer.
 * The only module that imports @azure/functions; it translates and delegates, nothing more.
 */

const runtime = createRuntime(loadConfig(process.env));

async function toBrokerRequest(req: HttpRequest): Promise<BrokerRequest> {
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
    headers,
    params: { ...req.params },
    body,
  };
}

function registerHttp(route: HttpRoute): void {
  app.http(route.name, {
    route: route.route,
    // Every method reaches the dispatcher, so a wrong one gets 405 + Allow rather than the host's 404.
    methods: [...HTTP_METHODS],
    authLevel: "anonymous",
    handler: async (req): Promise<HttpResponseInit> => {
      const response = await dispatch(route, runtime, await toBrokerRequest(req));
      return { status: response.status, headers: response.headers, body: response.body ?? "" };
    },
  });
}

for (const route of registrations.http) registerHttp(route);

for (const timer of registrations.timers) {
  app.timer(timer.name, {
    schedule: timer.schedule(runtime.config),
    handler: async (info: Timer) => timer.handler(runtime, { isPastDue: info.isPastDue }),
  });
}
