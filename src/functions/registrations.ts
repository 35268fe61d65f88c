import type { Handler, HttpRoute } from "../http/route.js";
import type { BrokerConfig } from "../config.js";
import type { Runtime } from "../runtime.js";

/**
 * The registration table: every function of the app, read by both the Azure Functions host
 * (azure.ts) and the local host, so what runs locally is what runs in Azure.
 */

/**
 * Handlers by module, loaded at their first call: registering the functions (the cold start of
 * every scale-out) needs only names, routes and methods, not the handlers' imports.
 */
const handlers = {
  token: () => import("../http/handlers/token.js"),
  inventory: () => import("../http/handlers/inventory.js"),
  sweeps: () => import("../http/handlers/sweeps.js"),
  health: () => import("../http/handlers/health.js"),
  openapi: () => import("../http/handlers/openapi.js"),
};

/** Once loaded, the handler itself is called: no extra step on the hot path. */
function lazy<M extends Record<K, Handler>, K extends keyof M>(load: () => Promise<M>, name: K): Handler {
  let handler: Handler | undefined;
  return (req, rt) =>
    handler !== undefined
      ? handler(req, rt)
      : load().then((m) => {
          handler = m[name];
          return handler(req, rt);
        });
}

/** Loads every handler module (Azure: right after registering, before the first invocation). */
export async function loadHandlers(): Promise<void> {
  await Promise.all(Object.values(handlers).map((load) => load()));
}

export interface TimerRegistration {
  name: string;
  /** NCRONTAB (six fields, seconds first), resolved from configuration. */
  schedule: (config: BrokerConfig) => string;
  handler: (runtime: Runtime, info: { isPastDue: boolean }) => Promise<void>;
}

export interface Registrations {
  http: readonly HttpRoute[];
  timers: readonly TimerRegistration[];
}

export const registrations: Registrations = {
  http: [
    { name: "token", route: "token", methods: { POST: lazy(handlers.token, "postToken") }, audited: true },
    {
      name: "inventory-list",
      route: "inventory",
      methods: { GET: lazy(handlers.inventory, "listInventory") },
      audited: true,
    },
    {
      name: "inventory-item",
      route: "inventory/{name}",
      methods: {
        GET: lazy(handlers.inventory, "getInventoryItem"),
        PUT: lazy(handlers.inventory, "putInventoryItem"),
        DELETE: lazy(handlers.inventory, "deleteInventoryItem"),
      },
      audited: true,
    },
    {
      name: "inventory-versions",
      route: "inventory/{name}/versions",
      methods: { GET: lazy(handlers.inventory, "listVersions") },
      audited: true,
    },
    {
      name: "inventory-rotate",
      route: "inventory/{name}/rotate",
      methods: { POST: lazy(handlers.inventory, "rotateInventoryItem") },
      audited: true,
    },
    {
      name: "notice-sweep",
      route: "sweeps/notices",
      methods: { POST: lazy(handlers.sweeps, "postNoticeSweep") },
      audited: true,
    },
    {
      name: "rotation-sweep",
      route: "sweeps/rotation",
      methods: { POST: lazy(handlers.sweeps, "postRotationSweep") },
      audited: true,
    },
    { name: "health", route: "health", methods: { GET: lazy(handlers.health, "getHealth") } },
    { name: "openapi", route: "openapi.json", methods: { GET: lazy(handlers.openapi, "getOpenApi") } },
  ],
  timers: [
    {
      name: "rotation-sweep-timer",
      schedule: (config) => config.rotationSchedule,
      // A sweep already running (route, another instance) does the work: nothing to do.
      handler: async (runtime) => {
        await runtime.rotation.sweep("timer");
      },
    },
    {
      name: "notice-sweep-timer",
      schedule: (config) => config.noticeSchedule,
      // A sweep already running (route, another instance) sends what is due: nothing to do.
      handler: async (runtime) => {
        await runtime.notices.run("timer");
      },
    },
  ],
};
