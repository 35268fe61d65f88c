import { randomUUID } from "node:crypto";
import type http from "node:http";
import https from "node:https";
import { z } from "zod";
import type { DevCertificate } from "../dev-certificate.js";
import { randomClientSecret } from "../sample-data.js";
import { listen, readText, sendJson, FaultQueue, serveControl } from "./emulator-http.js";
import type { EntraEmulator } from "./entra.js";
import type { DevSigner } from "./signer.js";

/**
 * Microsoft Graph application passwords on loopback HTTPS (PROTOCOLS §5): addPassword,
 * removePassword and `GET /v1.0/applications/{id}?$select=passwordCredentials`, for app-only
 * tokens of the dev tenant carrying `Application.ReadWrite.OwnedBy` (and owning the application)
 * or `Application.ReadWrite.All` in `roles`; a token without either is 403 Authorization_RequestDenied.
 */

export type GraphOperation = "addPassword" | "removePassword" | "getApplication";

export interface GraphFault {
  status: 401 | 403 | 429 | 500 | 503;
  count: number;
  retryAfterSeconds?: number;
  operation?: GraphOperation;
  /** The change is made, then the error answered: an ambiguous answer (a write that did happen). */
  afterApplying?: boolean;
}

/** A client secret's metadata as the test hook shows it (never the value). */
export interface EmulatedPassword {
  keyId: string;
  displayName: string | null;
  hint: string;
  startDateTime: string;
  endDateTime: string;
}

export interface EmulatedApplication {
  objectId: string;
  appId: string;
  displayName: string;
  /** Object ids of the service principals (managed identities) that own the app. */
  owners: readonly string[];
  /** Secrets it already has (e.g. the one the dev stack seeds the vault with). */
  passwords?: readonly { keyId: string; secret: string; displayName?: string; endDateTime: Date }[];
}

/** What Entra must learn when a secret is added: it works from `usableFrom` (propagation). */
export interface PasswordAdded {
  appId: string;
  keyId: string;
  secretText: string;
  usableFrom: number;
  expiresOn: number;
}

export interface GraphEmulatorOptions {
  tls: DevCertificate;
  signer: DevSigner;
  tenantId: string;
  applications: readonly EmulatedApplication[];
  /**
   * How long a new secret takes to work at Entra (the real one: seconds to ~10 minutes), on the
   * propagation clock. Default DEFAULT_PROPAGATION_DELAY_MS, so the dev stack and tests see it.
   */
  propagationDelayMs?: number;
  /** The clock `usableFrom` is reckoned on (tests: their fake time; default `now`). */
  propagationClock?: () => number;
  /** removePassword of a keyId the app does not have; Graph documents no answer (400 default, or 404). */
  absentKeyIdStatus?: 400 | 404;
  onPasswordAdded?: (event: PasswordAdded) => void;
  onPasswordRemoved?: (event: { appId: string; keyId: string }) => void;
  host?: string;
  port?: number;
  now?: () => number;
}

export interface GraphEmulator {
  /** Base URL, e.g. https://127.0.0.1:PORT (BROKER_GRAPH_URL). */
  url: string;
  passwords: (objectId: string) => EmulatedPassword[];
  setPropagationDelay: (ms: number) => void;
  setAbsentKeyIdStatus: (status: 400 | 404) => void;
  stats: () => { requests: number; byOperation: Partial<Record<GraphOperation, number>> };
  resetStats: () => void;
  injectFault: (fault: GraphFault) => void;
  clearFaults: () => void;
  close: () => Promise<void>;
}

const GRAPH_RESOURCE = "https://graph.microsoft.com";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_LIFETIME_MS = 2 * 365 * 24 * 3600_000;
/** A new password works at Entra only this long after addPassword, unless told otherwise. */
export const DEFAULT_PROPAGATION_DELAY_MS = 3 * 60_000;

interface StoredPassword {
  keyId: string;
  displayName: string | null;
  secret: string;
  start: number;
  end: number;
}

class GraphHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const isoText = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "not a date");
const addSchema = z.object({
  passwordCredential: z
    .object({
      displayName: z.string().max(256).nullable().optional(),
      startDateTime: isoText.optional(),
      endDateTime: isoText.optional(),
    })
    .optional(),
});
const removeSchema = z.object({ keyId: z.string() });
const faultSchema = z.strictObject({
  status: z.union([z.literal(401), z.literal(403), z.literal(429), z.literal(500), z.literal(503)]),
  count: z.number().int().min(1).max(1000),
  retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
  operation: z.enum(["addPassword", "removePassword", "getApplication"]).optional(),
  afterApplying: z.boolean().optional(),
});

/** What an app-only caller may do with applications, from its token's `roles` (app role assignments). */
interface Caller {
  objectId: string;
  /** `.All`: any application; `.OwnedBy`: only those it owns. */
  permission: "All" | "OwnedBy";
}

function applicationPermission(roles: unknown): Caller["permission"] | undefined {
  const held = Array.isArray(roles) ? roles.filter((r): r is string => typeof r === "string") : [];
  if (held.includes("Application.ReadWrite.All")) return "All";
  if (held.includes("Application.ReadWrite.OwnedBy")) return "OwnedBy";
  return undefined;
}

function mayChange(who: Caller, app: { owners: readonly string[] }): boolean {
  return who.permission === "All" || app.owners.includes(who.objectId);
}

const insufficientPrivileges = () =>
  new GraphHttpError(
    403,
    "Authorization_RequestDenied",
    "Insufficient privileges to complete the operation.",
  );

/** Graph's password changes, told to the Entra emulator: a new secret works there (from its time), a removed one stops. */
export function passwordsReachEntra(
  entra: Pick<EntraEmulator, "addClientSecret" | "removeClientSecret">,
): Pick<GraphEmulatorOptions, "onPasswordAdded" | "onPasswordRemoved"> {
  return {
    onPasswordAdded: (e) =>
      entra.addClientSecret(e.appId, {
        keyId: e.keyId,
        secret: e.secretText,
        usableFrom: e.usableFrom,
        expiresOn: e.expiresOn,
      }),
    onPasswordRemoved: (e) => entra.removeClientSecret(e.appId, e.keyId),
  };
}

function faultError(fault: GraphFault): GraphHttpError {
  const code =
    fault.status === 429
      ? "TooManyRequests"
      : fault.status === 401
        ? "InvalidAuthenticationToken"
        : fault.status === 403
          ? "Authorization_RequestDenied"
          : "serviceNotAvailable";
  return new GraphHttpError(
    fault.status,
    code,
    "Injected fault.",
    fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {},
  );
}

export async function startGraphEmulator(options: GraphEmulatorOptions): Promise<GraphEmulator> {
  const now = options.now ?? Date.now;
  const host = options.host ?? "127.0.0.1";
  let propagationDelay = options.propagationDelayMs ?? DEFAULT_PROPAGATION_DELAY_MS;
  const propagationClock = options.propagationClock ?? now;
  let absentKeyIdStatus = options.absentKeyIdStatus ?? 400;
  const apps = new Map(
    options.applications.map((a) => [
      a.objectId.toLowerCase(),
      {
        ...a,
        passwords: (a.passwords ?? []).map((p): StoredPassword => ({
          keyId: p.keyId,
          displayName: p.displayName ?? null,
          secret: p.secret,
          start: now(),
          end: p.endDateTime.getTime(),
        })),
      },
    ]),
  );
  const faults = new FaultQueue<GraphFault>();
  let stats = { requests: 0, byOperation: {} as Partial<Record<GraphOperation, number>> };
  let origin = "";

  const iso = (ms: number) => new Date(ms).toISOString();
  const wire = (p: StoredPassword, secretText: string | null) => ({
    customKeyIdentifier: null,
    displayName: p.displayName,
    endDateTime: iso(p.end),
    hint: p.secret.slice(0, 3),
    keyId: p.keyId,
    secretText,
    startDateTime: iso(p.start),
  });

  /** Graph documents no answer for an absent keyId: a 400, or a 404 worded like an unknown app's. */
  function absentKeyId(keyId: string): GraphHttpError {
    return absentKeyIdStatus === 404
      ? new GraphHttpError(
          404,
          "Request_ResourceNotFound",
          `Resource '${keyId.slice(0, 40)}' does not exist or one of its queried reference-property objects are not present.`,
        )
      : new GraphHttpError(400, "Request_BadRequest", "No password credential found with the given keyId.");
  }

  function appOf(id: string) {
    if (!GUID.test(id)) {
      throw new GraphHttpError(400, "Request_BadRequest", `Invalid object identifier '${id.slice(0, 60)}'.`);
    }
    const app = apps.get(id.toLowerCase());
    if (app === undefined) {
      throw new GraphHttpError(
        404,
        "Request_ResourceNotFound",
        `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    }
    return app;
  }

  /** An application as GET answers it: `$select` picks the properties (and names them in the context). */
  function selected(
    app: { objectId: string; appId: string; displayName: string; passwords: StoredPassword[] },
    select: string | null,
  ): Record<string, unknown> {
    const all: Record<string, unknown> = {
      id: app.objectId,
      appId: app.appId,
      displayName: app.displayName,
      passwordCredentials: app.passwords.map((p) => wire(p, null)),
    };
    const picked = (select ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s in all);
    if (picked.length === 0) {
      return { "@odata.context": `${origin}/v1.0/$metadata#applications/$entity`, ...all };
    }
    return {
      "@odata.context": `${origin}/v1.0/$metadata#applications(${picked.join(",")})/$entity`,
      ...Object.fromEntries(picked.map((k) => [k, all[k]])),
    };
  }

  /** App-only token for Graph from the dev tenant; returns the caller's object id and permission. */
  async function caller(req: http.IncomingMessage): Promise<Caller> {
    const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const claims =
      bearer === undefined ? undefined : await options.signer.verify(bearer, GRAPH_RESOURCE, now());
    if (claims === undefined || claims["tid"] !== options.tenantId || typeof claims["oid"] !== "string") {
      throw new GraphHttpError(401, "InvalidAuthenticationToken", "Access token validation failure.", {
        "www-authenticate": `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
      });
    }
    if (claims["scp"] !== undefined) {
      // The broker manages secrets as itself, never on behalf of a user.
      throw new GraphHttpError(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
      );
    }
    const permission = applicationPermission(claims["roles"]);
    if (permission === undefined) {
      // An app-only token without Application.ReadWrite.* (e.g. the broker's minting identity).
      throw insufficientPrivileges();
    }
    return { objectId: claims["oid"], permission };
  }

  async function body<T extends z.ZodType>(req: http.IncomingMessage, schema: T): Promise<z.output<T>> {
    const text = await readText(req, 16 * 1024);
    let json: unknown;
    try {
      json = text === null ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new GraphHttpError(400, "Request_BadRequest", "The request body is not valid.");
    return parsed.data;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", origin);
    const path = url.pathname;
    const controlled = await serveControl(req, res, path, {
      stats: () => stats,
      faults,
      faultSchema: faultSchema,
    });
    if (controlled) return;
    const m = /^\/v1\.0\/applications\/([^/]+)(?:\/(addPassword|removePassword))?$/.exec(path);
    const action = m?.[2] as "addPassword" | "removePassword" | undefined;
    const op: GraphOperation | undefined =
      m === null
        ? undefined
        : action === undefined
          ? req.method === "GET"
            ? "getApplication"
            : undefined
          : req.method === "POST"
            ? action
            : undefined;
    if (m?.[1] === undefined || op === undefined) {
      req.resume();
      throw new GraphHttpError(400, "BadRequest", "Resource not found for the segment.");
    }
    stats.requests += 1;
    stats.byOperation[op] = (stats.byOperation[op] ?? 0) + 1;
    const fault = faults.take(op);
    if (fault !== undefined && (fault.afterApplying !== true || op === "getApplication")) {
      req.resume();
      throw faultError(fault);
    }
    // An after-applying fault answers its error once the change is made.
    const applied = () => {
      if (fault !== undefined) throw faultError(fault);
    };
    const who = await caller(req);
    const app = appOf(decodeURIComponent(m[1]));
    if (op !== "getApplication" && !mayChange(who, app)) {
      req.resume();
      throw insufficientPrivileges();
    }
    if (op === "getApplication") {
      return sendJson(res, 200, selected(app, url.searchParams.get("$select")));
    }
    if (op === "addPassword") {
      const input = (await body(req, addSchema)).passwordCredential ?? {};
      const start = input.startDateTime !== undefined ? Date.parse(input.startDateTime) : now();
      const end =
        input.endDateTime !== undefined ? Date.parse(input.endDateTime) : start + DEFAULT_LIFETIME_MS;
      if (end <= start) {
        throw new GraphHttpError(
          400,
          "Request_BadRequest",
          "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.",
        );
      }
      const stored: StoredPassword = {
        keyId: randomUUID(),
        displayName: input.displayName ?? null,
        secret: randomClientSecret(),
        start,
        end,
      };
      app.passwords.push(stored);
      options.onPasswordAdded?.({
        appId: app.appId,
        keyId: stored.keyId,
        secretText: stored.secret,
        usableFrom: Math.max(start, propagationClock() + propagationDelay),
        expiresOn: end,
      });
      applied();
      return sendJson(res, 200, {
        "@odata.context": `${origin}/v1.0/$metadata#microsoft.graph.passwordCredential`,
        ...wire(stored, stored.secret),
      });
    }
    const { keyId } = await body(req, removeSchema);
    const index = app.passwords.findIndex((p) => p.keyId.toLowerCase() === keyId.toLowerCase());
    if (index < 0) throw absentKeyId(keyId);
    const [removed] = app.passwords.splice(index, 1);
    if (removed !== undefined) options.onPasswordRemoved?.({ appId: app.appId, keyId: removed.keyId });
    applied();
    res.writeHead(204).end();
  }

  const server = https.createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      const e =
        error instanceof GraphHttpError
          ? error
          : new GraphHttpError(500, "generalException", "An unexpected error occurred.");
      const requestId = randomUUID();
      sendJson(
        res,
        e.status,
        {
          error: {
            code: e.code,
            message: e.message,
            // camelCase innerError, unlike Key Vault's innererror.
            innerError: {
              date: new Date(now()).toISOString().slice(0, 19),
              "request-id": requestId,
              "client-request-id": requestId,
            },
          },
        },
        { "request-id": requestId, ...e.headers },
      );
    });
  });
  const listening = await listen(server, host, options.port ?? 0);
  origin = `https://${host}:${listening.port}`;
  return {
    url: origin,
    passwords: (objectId) =>
      (apps.get(objectId.toLowerCase())?.passwords ?? []).map((p) => ({
        keyId: p.keyId,
        displayName: p.displayName,
        hint: p.secret.slice(0, 3),
        startDateTime: iso(p.start),
        endDateTime: iso(p.end),
      })),
    setPropagationDelay: (ms) => {
      propagationDelay = ms;
    },
    setAbsentKeyIdStatus: (status) => {
      absentKeyIdStatus = status;
    },
    stats: () => ({ requests: stats.requests, byOperation: { ...stats.byOperation } }),
    resetStats: () => {
      stats = { requests: 0, byOperation: {} };
    },
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    close: listening.close,
  };
}
