import { app, type InvocationContext, type Timer } from "@azure/functions";
import { loadConfig } from "../config.js";
import { HTTP_METHODS } from "../http/types.js";
import { withInvocationLog } from "../log.js";
import { createRuntime } from "../runtime.js";
import { azureHttpHandler } from "./azure-adapter.js";
import { registrations } from "./registrations.js";

/**
 * Azure Functions entry (package.json `main`): the registration table -> app.http / app.timer.
 * With azure-adapter.ts, the only modules that import @azure/functions.
 */

const runtime = createRuntime(loadConfig(process.env));

for (const route of registrations.http) {
  app.http(route.name, {
    route: route.route,
    // Every method reaches the dispatcher, so a wrong one gets 405 + Allow rather than the host's 404.
    methods: [...HTTP_METHODS],
    authLevel: "anonymous",
    handler: azureHttpHandler(route, runtime),
  });
}

for (const timer of registrations.timers) {
  app.timer(timer.name, {
    schedule: timer.schedule(runtime.config),
    handler: (info: Timer, context: InvocationContext) =>
      withInvocationLog(context, () => timer.handler(runtime, { isPastDue: info.isPastDue })),
  });
}
