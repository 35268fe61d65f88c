import { randomBytes } from "node:crypto";
import type http from "node:http";
import https from "node:https";
import { decodeJwt } from "jose";
import { z } from "zod";
import { listen, readText, sendJson, FaultQueue, serveControl } from "./emulator-http.js";

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
const NAME = /^[0-9a-zA-Z-]{1,127}$/;
const MAX_VALUE_BYTES = 25 * 1024;
const MAX_PAGE = 25;

interface Attributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
}

interface Version {
  id: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  attributes: Attributes;
}

interface Secret {
  name: string;
  versions: Version[];
  deleted?: { deletedDate: number; scheduledPurgeDate: number };
}

class KvError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly inner?: string,
  ) {
    super(message);
  }
}

const attributesSchema = z
  .object({
    enabled: z.boolean().optional(),
    nbf: z.number().int().optional(),
    exp: z.number().int().optional(),
  })
  .loose();
const tagsSchema = z
  .record(z.string().min(1).max(512), z.string().max(256))
  .refine((t) => Object.keys(t).length <= 15, "too many tags");
const setSchema = z
  .object({
    value: z.string(),
    contentType: z.string().max(255).optional(),
    tags: tagsSchema.optional(),
    attributes: attributesSchema.optional(),
  })
  .loose();
const updateSchema = z
  .object({
    contentType: z.string().max(255).optional(),
    tags: tagsSchema.optional(),
    attributes: attributesSchema.optional(),
  })
  .loose();
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
  // Names are case-insensitive in Key Vault: keyed by lower case, first spelling kept.
  const secrets = new Map<string, Secret>();
  const faults = new FaultQueue<KeyVaultFault>();
  let stats = { requests: 0, byOperation: {} as Partial<Record<KeyVaultOperation, number>> };
  let origin = "";

  const challenge = `Bearer authorization="https://login.microsoftonline.com/${options.tenantId}", resource="https://vault.azure.net"`;

  function secretOf(name: string, deleted: boolean): Secret {
    const s = secrets.get(name.toLowerCase());
    if (s === undefined || (s.deleted !== undefined) !== deleted) {
      throw deleted
        ? new KvError(404, "SecretNotFound", `Deleted Secret not found: ${name}`)
        : new KvError(
            404,
            "SecretNotFound",
            `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`,
          );
    }
    return s;
  }

  const latest = (s: Secret): Version => s.versions[s.versions.length - 1] as Version;
  const recovery = () => ({
    recoveryLevel: recoverableDays > 0 ? "Recoverable+Purgeable" : "Purgeable",
    recoverableDays,
  });

  function bundle(s: Secret, v: Version, withValue: boolean): Record<string, unknown> {
    return {
      ...(withValue ? { value: v.value } : {}),
      id: v.id,
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
      ...(v.tags !== undefined ? { tags: v.tags } : {}),
      attributes: { ...v.attributes, ...recovery() },
    };
  }

  function item(s: Secret, v: Version, versioned: boolean): Record<string, unknown> {
    return {
      id: versioned ? v.id : `${origin}/secrets/${s.name}`,
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
      ...(v.tags !== undefined ? { tags: v.tags } : {}),
      attributes: { ...v.attributes, ...recovery() },
    };
  }

  function deletedExtras(s: Secret): Record<string, unknown> {
    return {
      recoveryId: `${origin}/deletedsecrets/${s.name}`,
      deletedDate: s.deleted?.deletedDate,
      scheduledPurgeDate: s.deleted?.scheduledPurgeDate,
    };
  }

  function requireName(name: string): void {
    if (!NAME.test(name)) {
      throw new KvError(
        400,
        "BadParameter",
        `The request URI contains an invalid name: ${name.slice(0, 130)}`,
      );
    }
  }

  async function jsonBody<T extends z.ZodType>(req: http.IncomingMessage, schema: T): Promise<z.output<T>> {
    const text = await readText(req, 64 * 1024);
    if (text === null) throw new KvError(413, "BadParameter", "The request body is too large.");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new KvError(400, "BadParameter", "The request body is not valid JSON.");
    }
    const result = schema.safeParse(json);
    // The message names the failing property, never a value.
    if (!result.success) {
      const where = result.error.issues.map((i) => i.path.join(".") || "(body)").join(", ");
      throw new KvError(400, "BadParameter", `Invalid request body: ${where}`);
    }
    return result.data;
  }

  /**
   * A page of `all` after the skiptoken, with an absolute nextLink that keeps api-version. With
   * `visible`, the page is a window of `maxresults` entries of which only the visible ones are
   * answered, as the real service skips soft-deleted secrets server-side: a window of deleted
   * ones is an empty page that still carries a nextLink (recorded: `can list secrets by page`).
   */
  function page<T>(
    all: T[],
    keyOf: (t: T) => string,
    render: (t: T) => unknown,
    path: string,
    q: URLSearchParams,
    visible: (t: T) => boolean = () => true,
  ): Record<string, unknown> {
    const max = q.has("maxresults") ? Number(q.get("maxresults")) : MAX_PAGE;
    if (!Number.isInteger(max) || max < 1 || max > MAX_PAGE) {
      throw new KvError(400, "BadParameter", "maxresults must be between 1 and 25.");
    }
    const after = q.get("$skiptoken");
    const start = after === null ? "" : Buffer.from(after, "base64url").toString("utf8");
    const rest = all.filter((t) => keyOf(t) > start);
    const chunk = rest.slice(0, max);
    const last = chunk[chunk.length - 1];
    const nextLink =
      rest.length > max && last !== undefined
        ? `${origin}${path}?api-version=${q.get("api-version") ?? ""}&$skiptoken=${Buffer.from(keyOf(last)).toString("base64url")}&maxresults=${max}`
        : null;
    return { value: chunk.filter(visible).map(render), nextLink };
  }

  const sortedSecrets = (deleted: boolean | "all") =>
    [...secrets.entries()]
      .filter(([, s]) => deleted === "all" || (s.deleted !== undefined) === deleted)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, s]) => s);

  /**
   * A secret deleted while disabled cannot be read in its deleted form either; the service says
   * AccessDenied, not SecretDisabled (recorded: `can update a disabled secret`,
   * `cant get a disabled secret`), so only the deleted listing tells it from a missing permission.
   */
  function refuseDisabledDeleted(s: Secret): void {
    if (!latest(s).attributes.enabled) {
      throw new KvError(403, "Forbidden", "Operation get is not permitted on this object.", "AccessDenied");
    }
  }

  function newVersionId(name: string): string {
    return `${origin}/secrets/${name}/${randomBytes(16).toString("hex")}`;
  }

  type Route = {
    method: string;
    pattern: RegExp;
    op: KeyVaultOperation;
    run: (req: http.IncomingMessage, m: string[], q: URLSearchParams) => Promise<[number, unknown?]>;
  };

  const routes: Route[] = [
    {
      method: "PUT",
      pattern: /^\/secrets\/([^/]+)$/,
      op: "setSecret",
      run: async (req, [name = ""]) => {
        requireName(name);
        const body = await jsonBody(req, setSchema);
        if (Buffer.byteLength(body.value) > MAX_VALUE_BYTES) {
          throw new KvError(400, "BadParameter", "The secret value exceeds the maximum size of 25 KB.");
        }
        const existing = secrets.get(name.toLowerCase());
        if (existing?.deleted !== undefined) {
          throw new KvError(
            409,
            "Conflict",
            `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
            "ObjectIsDeletedButRecoverable",
          );
        }
        const t = now();
        const s: Secret = existing ?? { name, versions: [] };
        const a = body.attributes;
        const v: Version = {
          id: newVersionId(s.name),
          value: body.value,
          ...(body.contentType !== undefined ? { contentType: body.contentType } : {}),
          ...(body.tags !== undefined ? { tags: body.tags } : {}),
          attributes: {
            enabled: a?.enabled ?? true,
            ...(a?.nbf !== undefined ? { nbf: a.nbf } : {}),
            ...(a?.exp !== undefined ? { exp: a.exp } : {}),
            created: t,
            updated: t,
          },
        };
        s.versions.push(v);
        secrets.set(name.toLowerCase(), s);
        return [200, bundle(s, v, true)];
      },
    },
    {
      method: "GET",
      pattern: /^\/secrets$/,
      op: "listSecrets",
      run: (_req, _m, q) =>
        Promise.resolve([
          200,
          page(
            sortedSecrets("all"),
            (s) => s.name.toLowerCase(),
            (s) => item(s, latest(s), false),
            "/secrets",
            q,
            (s) => s.deleted === undefined,
          ),
        ]),
    },
    {
      method: "GET",
      pattern: /^\/secrets\/([^/]+)\/versions$/,
      op: "listVersions",
      run: (_req, [name = ""], q) => {
        const s = secretOf(name, false);
        const versions = [...s.versions].sort((a, b) => (a.id < b.id ? -1 : 1));
        return Promise.resolve([
          200,
          page(
            versions,
            (v) => v.id,
            (v) => item(s, v, true),
            `/secrets/${s.name}/versions`,
            q,
          ),
        ]);
      },
    },
    {
      method: "GET",
      pattern: /^\/secrets\/([^/]+)(?:\/([0-9a-f]{32})?)?$/i,
      op: "getSecret",
      run: (_req, [name = "", version]) => {
        const s = secretOf(name, false);
        const v =
          version === undefined || version === ""
            ? latest(s)
            : s.versions.find((x) => x.id.toLowerCase().endsWith(`/${version.toLowerCase()}`));
        if (v === undefined) {
          throw new KvError(
            404,
            "SecretNotFound",
            `A secret with (name/id) ${name}/${version ?? ""} was not found in this key vault.`,
          );
        }
        if (!v.attributes.enabled) {
          throw new KvError(
            403,
            "Forbidden",
            "Operation get is not allowed on a disabled secret.",
            "SecretDisabled",
          );
        }
        return Promise.resolve([200, bundle(s, v, true)]);
      },
    },
    {
      method: "PATCH",
      pattern: /^\/secrets\/([^/]+)\/([0-9a-f]{32})?$/i,
      op: "updateSecret",
      run: async (req, [name = "", version]) => {
        const s = secretOf(name, false);
        const v =
          version === undefined || version === ""
            ? latest(s)
            : s.versions.find((x) => x.id.toLowerCase().endsWith(`/${version.toLowerCase()}`));
        if (v === undefined)
          throw new KvError(404, "SecretNotFound", `A secret with (name/id) ${name} was not found.`);
        const body = await jsonBody(req, updateSchema);
        if (body.contentType !== undefined) v.contentType = body.contentType;
        if (body.tags !== undefined) v.tags = body.tags;
        const a = body.attributes;
        if (a?.enabled !== undefined) v.attributes.enabled = a.enabled;
        if (a?.nbf !== undefined) v.attributes.nbf = a.nbf;
        if (a?.exp !== undefined) v.attributes.exp = a.exp;
        v.attributes.updated = now();
        return [200, bundle(s, v, false)];
      },
    },
    {
      method: "DELETE",
      pattern: /^\/secrets\/([^/]+)$/,
      op: "deleteSecret",
      run: (_req, [name = ""]) => {
        const s = secretOf(name, false);
        const t = now();
        if (recoverableDays === 0) {
          secrets.delete(name.toLowerCase());
          return Promise.resolve([200, bundle(s, latest(s), false)]);
        }
        s.deleted = { deletedDate: t, scheduledPurgeDate: t + recoverableDays * 86400 };
        return Promise.resolve([200, { ...bundle(s, latest(s), false), ...deletedExtras(s) }]);
      },
    },
    {
      method: "GET",
      pattern: /^\/deletedsecrets$/,
      op: "listDeletedSecrets",
      run: (_req, _m, q) =>
        Promise.resolve([
          200,
          page(
            sortedSecrets(true),
            (s) => s.name.toLowerCase(),
            (s) => ({ ...item(s, latest(s), false), ...deletedExtras(s) }),
            "/deletedsecrets",
            q,
          ),
        ]),
    },
    {
      method: "GET",
      pattern: /^\/deletedsecrets\/([^/]+)$/,
      op: "getDeletedSecret",
      run: (_req, [name = ""]) => {
        const s = secretOf(name, true);
        refuseDisabledDeleted(s);
        return Promise.resolve([200, { ...bundle(s, latest(s), false), ...deletedExtras(s) }]);
      },
    },
    {
      method: "POST",
      pattern: /^\/deletedsecrets\/([^/]+)\/recover$/,
      op: "recoverDeletedSecret",
      run: (_req, [name = ""]) => {
        const s = secretOf(name, true);
        delete s.deleted;
        const v = latest(s);
        return Promise.resolve([200, { id: v.id, attributes: { ...v.attributes, ...recovery() } }]);
      },
    },
    {
      method: "DELETE",
      pattern: /^\/deletedsecrets\/([^/]+)$/,
      op: "purgeDeletedSecret",
      run: (_req, [name = ""]) => {
        secretOf(name, true);
        secrets.delete(name.toLowerCase());
        return Promise.resolve([204]);
      },
    },
  ];

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
