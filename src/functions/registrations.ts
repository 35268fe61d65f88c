import { importRequestSchema } from "../inventory/import-request.js";
import { ROLES } from "../http/roles.js";
import { from, method, type HttpRoute } from "../http/route.js";
import {
  deleteQuery,
  driftQuery,
  exchangeRequest,
  listQuery,
  noQuery,
  policyExplainRequest,
  putQuery,
  rotateQuery,
  tokenJsonRequest,
} from "../http/schemas.js";
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
  drift: () => import("../http/handlers/drift.js"),
  health: () => import("../http/handlers/health.js"),
  whoami: () => import("../http/handlers/whoami.js"),
  policy: () => import("../http/handlers/policy.js"),
  openapi: () => import("../http/handlers/openapi.js"),
};

/** Loads every handler module (Azure: right after registering, before the first invocation). */
export async function loadHandlers(): Promise<void> {
  await Promise.all([import("../http/pipeline.js"), ...Object.values(handlers).map((load) => load())]);
}

export interface TimerRegistration {
  name: string;
  /** NCRONTAB (six fields, seconds first), resolved from configuration; undefined: not registered (off). */
  schedule: (config: BrokerConfig) => string | undefined;
  handler: (runtime: Runtime, info: { isPastDue: boolean }) => Promise<void>;
}

export interface Registrations {
  http: readonly HttpRoute[];
  timers: readonly TimerRegistration[];
}

/**
 * Per method: what it does, who may call it, the query and bodies it accepts and the audit line it
 * writes (see src/http/route.ts for what is derived from this).
 */
export const registrations: Registrations = {
  http: [
    {
      name: "token",
      route: "token",
      methods: {
        POST: method({
          summary: "A credential for one profile (JSON, or an RFC 8693 token-exchange form)",
          access: "granted",
          query: noQuery,
          body: {
            "application/json": tokenJsonRequest,
            "application/x-www-form-urlencoded": exchangeRequest,
          },
          memoiseBody: true,
          audit: { event: "audit.token" },
          rateLimit: "caller",
          handler: from(handlers.token, "postToken"),
        }),
      },
    },
    {
      name: "inventory-list",
      route: "inventory",
      methods: {
        GET: method({
          summary: "Managed credentials, metadata only (JSON pages or CSV)",
          access: ROLES.inventoryRead,
          query: listQuery,
          audit: { event: "audit.inventory", action: "list" },
          handler: from(handlers.inventory, "listInventory"),
        }),
      },
    },
    {
      name: "inventory-item",
      route: "inventory/{name}",
      methods: {
        GET: method({
          summary: "One credential's metadata",
          access: ROLES.inventoryRead,
          query: noQuery,
          audit: { event: "audit.inventory", action: "show" },
          handler: from(handlers.inventory, "getInventoryItem"),
        }),
        PUT: method({
          summary: "Import (201) or update (200); without a value the broker creates it upstream",
          access: ROLES.secretsAdmin,
          query: putQuery,
          body: { "application/json": importRequestSchema },
          audit: { event: "audit.inventory", action: "import" },
          rateLimit: "admin",
          handler: from(handlers.inventory, "putInventoryItem"),
        }),
        DELETE: method({
          summary: "Revoke upstream, then soft-delete",
          access: ROLES.secretsAdmin,
          query: deleteQuery,
          audit: { event: "audit.inventory", action: "revoke" },
          rateLimit: "admin",
          handler: from(handlers.inventory, "deleteInventoryItem"),
        }),
      },
    },
    {
      name: "inventory-versions",
      route: "inventory/{name}/versions",
      methods: {
        GET: method({
          summary: "The credential's versions (metadata)",
          access: ROLES.inventoryRead,
          query: noQuery,
          audit: { event: "audit.inventory", action: "versions" },
          handler: from(handlers.inventory, "listVersions"),
        }),
      },
    },
    {
      name: "inventory-rotate",
      route: "inventory/{name}/rotate",
      methods: {
        POST: method({
          summary: "Rotate now; a stored global PAT is migrated to ?organization",
          access: ROLES.secretsAdmin,
          query: rotateQuery,
          audit: { event: "audit.inventory", action: "rotate" },
          rateLimit: "admin",
          handler: from(handlers.inventory, "rotateInventoryItem"),
        }),
      },
    },
    {
      name: "drift",
      route: "drift",
      methods: {
        GET: method({
          summary:
            "Upstream PATs and app passwords the vault does not know, and vault credentials gone upstream",
          access: ROLES.inventoryRead,
          query: driftQuery,
          audit: { event: "audit.inventory", action: "drift" },
          handler: from(handlers.drift, "getDrift"),
        }),
      },
    },
    {
      name: "notice-sweep",
      route: "sweeps/notices",
      methods: {
        POST: method({
          summary: "Run the expiry-notice sweep now",
          access: ROLES.secretsAdmin,
          query: noQuery,
          audit: { event: "audit.admin", action: "notice-sweep" },
          rateLimit: "admin",
          handler: from(handlers.sweeps, "postNoticeSweep"),
        }),
      },
    },
    {
      name: "rotation-sweep",
      route: "sweeps/rotation",
      methods: {
        POST: method({
          summary: "Run the rotation sweep now",
          access: ROLES.secretsAdmin,
          query: noQuery,
          audit: { event: "audit.admin", action: "rotation-sweep" },
          rateLimit: "admin",
          handler: from(handlers.sweeps, "postRotationSweep"),
        }),
      },
    },
    {
      name: "whoami",
      route: "whoami",
      methods: {
        GET: method({
          summary: "The caller as the broker sees it: identifiers, roles and granted profiles",
          access: "authenticated",
          query: noQuery,
          audit: { event: "audit.caller", action: "whoami" },
          handler: from(handlers.whoami, "getWhoami"),
        }),
      },
    },
    {
      name: "policy-explain",
      route: "policy/explain",
      methods: {
        POST: method({
          summary:
            "Why a profile is granted or not, grant by grant (Policy.Read; without it: the caller's own decision only)",
          // Any verified caller may ask about itself; the handler checks Policy.Read for more.
          access: "authenticated",
          query: noQuery,
          body: { "application/json": policyExplainRequest },
          // A decision per profile, as POST /api/token gives: probing it spends the same bucket.
          rateLimit: "caller",
          audit: { event: "audit.caller", action: "policy-explain" },
          handler: from(handlers.policy, "postPolicyExplain"),
        }),
      },
    },
    {
      name: "health",
      route: "health",
      methods: {
        GET: method({
          summary: "Liveness",
          access: "public",
          query: noQuery,
          handler: from(handlers.health, "getHealth"),
        }),
      },
    },
    {
      name: "openapi",
      route: "openapi.json",
      methods: {
        GET: method({
          summary: "This document",
          access: "public",
          query: noQuery,
          // The table hands itself to the document (no import back from the handler: no cycle).
          handler: () => handlers.openapi().then((m) => m.openApiHandler(() => registrations.http)),
        }),
      },
    },
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
    {
      name: "probe-timer",
      // Off unless BROKER_PROBE_SCHEDULE is set.
      schedule: (config) => config.probe?.schedule,
      // Outcomes are metrics and log lines; a failed probe is not a failed invocation.
      handler: async (runtime) => {
        await runtime.prober?.run();
      },
    },
  ],
};
