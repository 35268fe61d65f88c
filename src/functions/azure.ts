import { app, type InvocationContext, type Timer } from "@azure/functions";
import { loadConfig } from "../config.js";
import { HTTP_METHODS } from "../http/types.js";
import { withInvocationLog } from "../log.js";
import type { Runtime } from "../runtime.js";
import { azureHttpHandler } from "./azure-adapter.js";
import { loadHandlers, registrations } from "./registrations.js";

/**
 * Azure Functions entry (package.json `main`): the registration table -> app.http / app.timer.
 * With azure-adapter.ts, the only modules that import @azure/functions.
 */

// A bad setting stops the start here, naming the setting.
const config = loadConfig(process.env);

// Cold start (every scale-out pays it): the registrations need only the table and the
// configuration, so the host learns the functions at once, and the runtime with the Azure SDKs
// and the handlers (most of the start-up time) load right after, while the host gets ready to
// invoke. Should that fail (say, a bad policy file), the rejection is unhandled and ends the worker.
// Telemetry registers its meter provider before the runtime takes its meter.
const runtime: Promise<Runtime> = Promise.all([
  import("../runtime.js"),
  loadHandlers(),
  import("../telemetry/start.js").then((m) => m.startTelemetry(config.telemetry)),
]).then(([m]) => m.createRuntime(config));

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
  const schedule = timer.schedule(config);
  if (schedule === undefined) continue;
  app.timer(timer.name, {
    schedule,
    handler: (info: Timer, context: InvocationContext) =>
      withInvocationLog(context, async () => timer.handler(await runtime, { isPastDue: info.isPastDue })),
  });
}
