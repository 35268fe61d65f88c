import { postNoticeSweep, postRotationSweep } from "../http/handlers/sweeps.js";
import { getHealth } from "../http/handlers/health.js";
import { getOpenApi } from "../http/handlers/openapi.js";
import {
  deleteInventoryItem,
  getInventoryItem,
  listInventory,
  listVersions,
  putInventoryItem,
  rotateInventoryItem,
} from "../http/handlers/inventory.js";
import { postToken } from "../http/handlers/token.js";
import type { HttpRoute } from "../http/route.js";
import type { BrokerConfig } from "../config.js";
import type { Runtime } from "../runtime.js";

/**
 * The registration table: every function of the app, read by both the Azure Functions host
 * (azure.ts) and the local host, so what runs locally is what runs in Azure.
 */

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
    { name: "token", route: "token", methods: { POST: postToken }, audited: true },
    { name: "inventory-list", route: "inventory", methods: { GET: listInventory }, audited: true },
    {
      name: "inventory-item",
      route: "inventory/{name}",
      methods: { GET: getInventoryItem, PUT: putInventoryItem, DELETE: deleteInventoryItem },
      audited: true,
    },
    {
      name: "inventory-versions",
      route: "inventory/{name}/versions",
      methods: { GET: listVersions },
      audited: true,
    },
    {
      name: "inventory-rotate",
      route: "inventory/{name}/rotate",
      methods: { POST: rotateInventoryItem },
      audited: true,
    },
    { name: "notice-sweep", route: "sweeps/notices", methods: { POST: postNoticeSweep }, audited: true },
    {
      name: "rotation-sweep",
      route: "sweeps/rotation",
      methods: { POST: postRotationSweep },
      audited: true,
    },
    { name: "health", route: "health", methods: { GET: getHealth } },
    { name: "openapi", route: "openapi.json", methods: { GET: getOpenApi } },
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
