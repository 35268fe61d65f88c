import type http from "node:http";
import https from "node:https";
import { decodeJwt } from "jose";
import { z } from "zod";
import { listen, sendJson, FaultQueue, serveControl } from "./emulator-http.js";
import { keyVaultRoutes } from "./keyvault-routes.js";
import { KvError, NAME, createSecretState, type Secret } from "./keyvault-state.js";
import { createWire } from "./keyvault-wire.js";

/**
 * Key Vault secrets data plane on loopback HTTPS, as the real SecretClient speaks it
 * (PROTOCOLS §1): bearer challenge, versions, tags, paging with absolute nextLinks, soft delete,
 * recover and purge, disabled secrets, and injectable throttling for tests.
 */

export type KeyVaultOperation =
  | "setSecret"
  | "getSecret"
  | "listSecrets"
  | "listVersions"
  | "updateSecret"
  | "deleteSecret"
  | "getDeletedSecret"
  | "listDeletedSecrets"
  | "recoverDeletedSecret"
  | "purgeDeletedSecret";

export interface KeyVaultFault {
  /** 403: the identity lacks the permission (RBAC), as the real service answers it. */
  status: 403 | 429 | 500 | 503;
  count: number;
  retryAfterSeconds?: number;
  operation?: KeyVaultOperation;
}

export interface KeyVaultEmulatorOptions {
  tls: { key: string; cert: string };
  host?: string;
  port?: number;
  tenantId: string;
  /** Decides whether a bearer token authenticates (else 401 with the challenge). */
  authorize: (bearerToken: string) => boolean | Promise<boolean>;
  /**
   * Azure RBAC on the data plane: whether the authenticated caller holds a Key Vault data role
   * (e.g. Key Vault Secrets Officer); else 403 ForbiddenByRbac. Absent: every authenticated caller does.
   */
  hasDataPlaneRole?: (bearerToken: string) => boolean | Promise<boolean>;
  recoverableDays?: number;
  now?: () => number;
}

export interface KeyVaultEmulator {
  url: string;
  close(): Promise<void>;
  stats(): { requests: number; byOperation: Partial<Record<KeyVaultOperation, number>> };
  resetStats(): void;
  injectFault(fault: KeyVaultFault): void;
  /** Drops every injected fault not yet served. */
  clearFaults(): void;
  /**
   * Test set-up only: stores a version directly, as a PUT would, without the wire (seeding a
   * thousand secrets over HTTPS costs tens of CPU-seconds on a small machine). Not counted in stats.
   */
  seed(
    name: string,
    value: string,
    extras: { contentType?: string; tags?: Record<string, string>; expiresOn?: Date },
  ): void;
}

const API_VERSIONS = new Set(["7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01"]);

const faultSchema = z.strictObject({
  status: z.union([z.literal(403), z.literal(429), z.literal(500), z.literal(503)]),
  count: z.number().int().min(1).max(1000),
  retryAfterSeconds: z.number().int().min(0).max(60).optional(),
  operation: z
    .enum([
      "setSecret",
      "getSecret",
      "listSecrets",
      "listVersions",
      "updateSecret",
      "deleteSecret",
      "getDeletedSecret",
      "listDeletedSecrets",
      "recoverDeletedSecret",
      "purgeDeletedSecret",
    ])
    .optional(),
});

/** The data action Key Vault names in an RBAC refusal. */
const DATA_ACTIONS: Record<KeyVaultOperation, string> = {
  setSecret: "secrets/setSecret/action",
  getSecret: "secrets/getSecret/action",
  listSecrets: "secrets/readMetadata/action",
  listVersions: "secrets/readMetadata/action",
  updateSecret: "secrets/update/action",
  deleteSecret: "secrets/delete",
  getDeletedSecret: "secrets/readMetadata/action",
  listDeletedSecrets: "secrets/readMetadata/action",
  recoverDeletedSecret: "secrets/recover/action",
  purgeDeletedSecret: "secrets/purge/action",
};

/**
 * Key Vault's answer to a caller without a data-plane role, as recorded from the real service:
 * 403, code `Forbidden`, innererror `ForbiddenByRbac`, a message naming caller, action and vault.
 */
function forbiddenByRbac(bearerToken: string, op: KeyVaultOperation, path: string): KvError {
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  let caller: string;
  try {
    const claims = decodeJwt(bearerToken);
    caller = `appid=${text(claims["appid"] ?? claims["azp"])};oid=${text(claims["oid"])};iss=${text(claims.iss)}`;
  } catch {
    caller = "(unknown)";
  }
  return new KvError(
    403,
    "Forbidden",
    [
      "Caller is not authorized to perform action on resource.",
      "If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.",
      `Caller: ${caller}`,
      `Action: 'Microsoft.KeyVault/vaults/${DATA_ACTIONS[op]}'`,
      `Resource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/dev/providers/microsoft.keyvault/vaults/dev${path.toLowerCase()}'`,
      "Assignment: (not found)",
      "DenyAssignmentId: null",
      "DecisionReason: 'DeniedWithNoValidRBAC' ",
      "Vault: dev;location=local",
      "",
    ].join("\r\n"),
    "ForbiddenByRbac",
  );
}

export async function startKeyVaultEmulator(options: KeyVaultEmulatorOptions): Promise<KeyVaultEmulator> {
  const now = () => Math.floor((options.now ?? Date.now)() / 1000);
  const recoverableDays = options.recoverableDays ?? 90;
  const host = options.host ?? "127.0.0.1";
  const faults = new FaultQueue<KeyVaultFault>();
  let stats = { requests: 0, byOperation: {} as Partial<Record<KeyVaultOperation, number>> };
  let origin = "";

  const challenge = `Bearer authorization="https://login.microsoftonline.com/${options.tenantId}", resource="https://vault.azure.net"`;
  const state = createSecretState(() => origin);
  const { secrets, newVersionId } = state;
  const routes = keyVaultRoutes(
    state,
    createWire(() => origin, recoverableDays),
    now,
    recoverableDays,
  );

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", origin);
    const path = url.pathname.replace(/\/{2,}/g, "/");
    const controlled = await serveControl(req, res, path, {
      stats: () => stats,
      resetStats: () => {
        stats = { requests: 0, byOperation: {} };
      },
      faults,
      faultSchema: faultSchema,
    });
    if (controlled) return;

    const route = routes.find((r) => r.pattern.test(path) && r.method === req.method);
    const pathKnown = routes.some((r) => r.pattern.test(path));
    // Authentication comes before anything about the body: the SDK's first request has none.
    const auth = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? "");
    if (auth?.[1] === undefined || !(await options.authorize(auth[1]))) {
      req.resume();
      return sendJson(
        res,
        401,
        { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } },
        { "www-authenticate": challenge },
      );
    }
    if (route === undefined) {
      req.resume();
      throw pathKnown
        ? new KvError(405, "MethodNotAllowed", "The requested method is not allowed.")
        : new KvError(404, "NotFound", "The requested resource was not found.");
    }
    if (options.hasDataPlaneRole !== undefined && !(await options.hasDataPlaneRole(auth[1]))) {
      req.resume();
      throw forbiddenByRbac(auth[1], route.op, path);
    }
    const apiVersion = url.searchParams.get("api-version");
    if (apiVersion === null || !API_VERSIONS.has(apiVersion)) {
      req.resume();
      throw new KvError(400, "BadParameter", "The api-version query parameter is missing or not supported.");
    }
    stats.requests += 1;
    stats.byOperation[route.op] = (stats.byOperation[route.op] ?? 0) + 1;
    const fault = faults.take(route.op);
    if (fault !== undefined) {
      req.resume();
      if (fault.status === 403) throw forbiddenByRbac(auth[1], route.op, path);
      const headers: Record<string, string> =
        fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {};
      const body =
        fault.status === 429
          ? {
              error: {
                code: "Throttled",
                message:
                  "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
              },
            }
          : { error: { code: "ServiceUnavailable", message: "The service is temporarily unavailable." } };
      return sendJson(res, fault.status, body, headers);
    }
    // Optional groups are undefined at run time, whatever the array's static type says.
    const groups: (string | undefined)[] = (route.pattern.exec(path) ?? []).slice(1);
    const match = groups.map((m) => (m === undefined ? m : decodeURIComponent(m)));
    const [status, body] = await route.run(req, match as string[], url.searchParams);
    if (status === 204) {
      res.writeHead(204).end();
      return;
    }
    sendJson(res, status, body);
  }

  const server = https.createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof KvError) {
        return sendJson(res, error.status, {
          error: {
            code: error.code,
            message: error.message,
            ...(error.inner !== undefined ? { innererror: { code: error.inner } } : {}),
          },
        });
      }
      sendJson(res, 500, {
        error: { code: "InternalServerError", message: "An unexpected error occurred." },
      });
    });
  });
  const listening = await listen(server, host, options.port ?? 0);
  origin = `https://${host}:${listening.port}`;
  return {
    url: origin,
    close: listening.close,
    stats: () => ({ requests: stats.requests, byOperation: { ...stats.byOperation } }),
    resetStats: () => {
      stats = { requests: 0, byOperation: {} };
    },
    injectFault: (fault) => faults.add(fault),
    seed: (name, value, extras) => {
      if (!NAME.test(name)) throw new Error("invalid secret name");
      const t = now();
      const s: Secret = secrets.get(name.toLowerCase()) ?? { name, versions: [] };
      s.versions.push({
        id: newVersionId(s.name),
        value,
        ...(extras.contentType !== undefined ? { contentType: extras.contentType } : {}),
        ...(extras.tags !== undefined ? { tags: { ...extras.tags } } : {}),
        attributes: {
          enabled: true,
          ...(extras.expiresOn !== undefined ? { exp: Math.floor(extras.expiresOn.getTime() / 1000) } : {}),
          created: t,
          updated: t,
        },
      });
      secrets.set(name.toLowerCase(), s);
    },
    clearFaults: () => faults.clear(),
  };
}
