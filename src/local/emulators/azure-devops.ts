import { randomUUID } from "node:crypto";
import type http from "node:http";
import https from "node:https";
import { z } from "zod";
import type { DevCertificate } from "../dev-certificate.js";
import { randomPat } from "../sample-data.js";
import { listen, readText, sendJson, FaultQueue, serveControl } from "./emulator-http.js";
import type { DevSigner } from "./signer.js";

/**
 * Azure DevOps on loopback HTTPS (PROTOCOLS §4): the PAT Lifecycle Management API
 * (`/{org}/_apis/tokens/pats`, the vssps.dev.azure.com host) for user-delegated Entra tokens of
 * the dev tenant, and `/{org}/_apis/connectionData` (the dev.azure.com host) to prove a PAT
 * works. Both hosts share this one origin.
 */

export type DevOpsOperation = "create" | "get" | "list" | "update" | "revoke" | "connectionData";
export type PatStatus = "active" | "revoked" | "expired";

export interface DevOpsFault {
  status: 401 | 403 | 429 | 500 | 503;
  count: number;
  retryAfterSeconds?: number;
  operation?: DevOpsOperation;
}

/** A PAT's metadata as the test hook shows it (never the value). */
export interface EmulatedPat {
  authorizationId: string;
  organization: string;
  ownerObjectId: string;
  displayName: string;
  scope: string;
  validFrom: string;
  validTo: string;
  status: PatStatus;
}

export interface AzureDevOpsEmulatorOptions {
  tls: DevCertificate;
  signer: DevSigner;
  tenantId: string;
  organizations: readonly { name: string; id: string }[];
  /** Default page size of a listing when the caller sends no `$top`. */
  pageSize?: number;
  /** Longest lifetime a PAT may be created with (organization policy); 1 year by default. */
  maxLifetimeDays?: number;
  /**
   * Wire details the docs leave open, so clients can be tested against both: the status of an
   * answer carrying a patTokenError, and of a successful revoke (spec 200, example 204).
   */
  patTokenErrorStatus?: 200 | 400;
  revokeStatus?: 200 | 204;
  host?: string;
  port?: number;
  now?: () => number;
}

export interface AzureDevOpsEmulator {
  /** Base URL of both hosts, e.g. https://127.0.0.1:PORT (BROKER_DEVOPS_URL and BROKER_DEVOPS_VSSPS_URL). */
  url: string;
  /** Metadata of the PATs of an organization (all owners), oldest first. */
  pats: (organization: string) => EmulatedPat[];
  /** Registers an existing PAT (the dev stack's sample one) and returns its authorizationId. */
  addPat: (
    organization: string,
    pat: { token: string; ownerObjectId: string; displayName: string; scope: string; validTo: Date },
  ) => string;
  stats: () => { requests: number; byOperation: Partial<Record<DevOpsOperation, number>> };
  resetStats: () => void;
  injectFault: (fault: DevOpsFault) => void;
  clearFaults: () => void;
  close: () => Promise<void>;
}

const API_VERSION = "7.1-preview.1";
const ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798";
const MAX_TOP = 100;
const SCOPE = /^(app_token|vso\.[a-z_]+)$/;

interface StoredPat {
  authorizationId: string;
  organization: string;
  ownerObjectId: string;
  displayName: string;
  scope: string;
  validFrom: number;
  validTo: number;
  revoked: boolean;
  token: string;
  targetAccounts: string[];
  serial: number;
}

/** Azure DevOps' error body shape (`$id`, `message`, `typeKey`…). */
class AdoError extends Error {
  constructor(
    readonly status: number,
    readonly typeKey: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A PatTokenResult with an error, answered with the configured status. */
class PatTokenErrorResult extends Error {
  constructor(readonly patTokenError: string) {
    super(patTokenError);
  }
}

const createSchema = z.object({
  displayName: z.string().optional(),
  scope: z.string().optional(),
  validTo: z.string().optional(),
  allOrgs: z.boolean().optional(),
});
const updateSchema = createSchema.extend({ authorizationId: z.string() });
const faultSchema = z.strictObject({
  status: z.union([z.literal(401), z.literal(403), z.literal(429), z.literal(500), z.literal(503)]),
  count: z.number().int().min(1).max(1000),
  retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
  operation: z.enum(["create", "get", "list", "update", "revoke", "connectionData"]).optional(),
});
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function startAzureDevOpsEmulator(
  options: AzureDevOpsEmulatorOptions,
): Promise<AzureDevOpsEmulator> {
  const now = options.now ?? Date.now;
  const host = options.host ?? "127.0.0.1";
  const defaultPage = options.pageSize ?? 20;
  const maxLifetimeMs = (options.maxLifetimeDays ?? 365) * 24 * 3600_000;
  const errorStatus = options.patTokenErrorStatus ?? 200;
  const orgs = new Map(options.organizations.map((o) => [o.name.toLowerCase(), o]));
  const pats = new Map<string, StoredPat>();
  const faults = new FaultQueue<DevOpsFault>();
  let serial = 0;
  let stats = { requests: 0, byOperation: {} as Partial<Record<DevOpsOperation, number>> };

  const statusOf = (p: StoredPat): PatStatus =>
    p.revoked ? "revoked" : p.validTo <= now() ? "expired" : "active";
  const iso = (ms: number) => new Date(ms).toISOString();
  const wire = (p: StoredPat, withToken: boolean) => ({
    displayName: p.displayName,
    validTo: iso(p.validTo),
    scope: p.scope,
    targetAccounts: p.targetAccounts,
    validFrom: iso(p.validFrom),
    authorizationId: p.authorizationId,
    token: withToken ? p.token : null,
  });

  function store(
    org: { name: string; id: string },
    p: Omit<StoredPat, "serial" | "targetAccounts" | "organization">,
  ): StoredPat {
    serial += 1;
    const stored = { ...p, organization: org.name, targetAccounts: [org.id], serial };
    pats.set(p.authorizationId, stored);
    return stored;
  }

  function orgOf(name: string): { name: string; id: string } {
    const org = orgs.get(name.toLowerCase());
    if (org === undefined) {
      throw new AdoError(
        404,
        "AccountNotFoundException",
        `TF400813: The organization '${name.slice(0, 60)}' was not found.`,
      );
    }
    return org;
  }

  /** The requesting user's PAT in this organization, or authorizationNotFound. */
  function patOf(org: { name: string }, user: string, id: string | null): StoredPat {
    if (id === null || !GUID.test(id)) throw new PatTokenErrorResult("invalidAuthorizationId");
    const p = pats.get(id.toLowerCase());
    if (p === undefined || p.organization !== org.name || p.ownerObjectId !== user) {
      throw new PatTokenErrorResult("authorizationNotFound");
    }
    return p;
  }

  function checkValidTo(text: string | undefined): number {
    const validTo = text === undefined ? Number.NaN : Date.parse(text);
    if (Number.isNaN(validTo) || validTo <= now()) throw new PatTokenErrorResult("invalidValidTo");
    if (validTo > now() + maxLifetimeMs) throw new PatTokenErrorResult("patLifespanPolicyViolation");
    return validTo;
  }

  function checkScope(scope: string | undefined): string {
    const names = (scope ?? "").split(" ").filter((s) => s !== "");
    if (names.length === 0 || !names.every((n) => SCOPE.test(n)))
      throw new PatTokenErrorResult("invalidScope");
    return names.join(" ");
  }

  function checkDisplayName(name: string | undefined): string {
    if (name === undefined || name.trim() === "") throw new PatTokenErrorResult("displayNameRequired");
    // eslint-disable-next-line no-control-regex
    if (name.length > 256 || /[\u0000-\u001f<>]/.test(name))
      throw new PatTokenErrorResult("invalidDisplayName");
    return name;
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
    if (!parsed.success) {
      throw new AdoError(400, "InvalidArgumentValueException", "The request body is missing or not valid.");
    }
    return parsed.data;
  }

  /** The user-delegated caller of the PAT API: Entra token of the dev tenant with `scp`. */
  async function delegatedUser(req: http.IncomingMessage): Promise<string> {
    const challenge = {
      "www-authenticate": `Bearer authorization_uri=https://login.microsoftonline.com/${options.tenantId}`,
    };
    const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const claims =
      bearer === undefined ? undefined : await options.signer.verify(bearer, ADO_RESOURCE, now());
    if (claims === undefined || claims["tid"] !== options.tenantId || typeof claims["oid"] !== "string") {
      throw new AdoError(
        401,
        "UnauthorizedRequestException",
        "TF400813: The user is not authorized to access this resource.",
        challenge,
      );
    }
    // Service principals, managed identities and client-credential flows cannot manage PATs.
    if (typeof claims["scp"] !== "string" || claims["scp"] === "") {
      throw new AdoError(
        403,
        "InvalidAccessException",
        "Service principals and managed identities cannot use the PAT lifecycle management API.",
      );
    }
    return claims["oid"];
  }

  /** Listing state: where the next page starts and the filters it was made with (they must be resent). */
  function continuation(offset: number, filters: string): string {
    return Buffer.from(JSON.stringify({ o: offset, f: filters })).toString("base64url");
  }

  function list(org: { name: string }, user: string, q: URLSearchParams): unknown {
    const display = q.get("displayFilterOption") ?? "active";
    const sortBy = q.get("sortByOption") ?? "displayDate";
    const ascending = (q.get("isSortAscending") ?? "true").toLowerCase() !== "false";
    const top = q.has("$top") ? Number(q.get("$top")) : defaultPage;
    if (
      !["active", "revoked", "expired", "all"].includes(display) ||
      !["displayName", "displayDate", "status"].includes(sortBy)
    ) {
      throw new AdoError(400, "InvalidArgumentValueException", "A filter or sort option is not valid.");
    }
    if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) {
      throw new AdoError(400, "InvalidArgumentValueException", "$top must be between 1 and 100.");
    }
    const filters = `${display}|${sortBy}|${String(ascending)}|${top}`;
    let offset = 0;
    const token = q.get("continuationToken");
    if (token !== null && token !== "") {
      let state: { o?: unknown; f?: unknown } = {};
      try {
        state = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as typeof state;
      } catch {
        state = {};
      }
      if (typeof state.o !== "number" || state.f !== filters) {
        throw new AdoError(
          400,
          "InvalidContinuationTokenException",
          "The continuation token is not valid for these filters.",
        );
      }
      offset = state.o;
    }
    const key = (p: StoredPat): string | number =>
      sortBy === "displayName" ? p.displayName.toLowerCase() : sortBy === "status" ? statusOf(p) : p.serial;
    const all = [...pats.values()]
      .filter((p) => p.organization === org.name && p.ownerObjectId === user)
      .filter((p) => display === "all" || statusOf(p) === display)
      .sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        const order = x < y ? -1 : x > y ? 1 : a.serial - b.serial;
        return ascending ? order : -order;
      });
    const chunk = all.slice(offset, offset + top);
    const more = offset + top < all.length;
    return {
      continuationToken: more ? continuation(offset + top, filters) : "",
      patTokens: chunk.map((p) => wire(p, false)),
    };
  }

  async function patApi(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    org: { name: string; id: string },
    q: URLSearchParams,
    op: DevOpsOperation,
  ): Promise<void> {
    const user = await delegatedUser(req);
    if (q.get("api-version") !== API_VERSION) {
      throw new AdoError(
        400,
        "VssVersionOutOfRangeException",
        "The requested REST API version is not supported.",
      );
    }
    const result = (p: StoredPat, withToken = false) =>
      sendJson(res, 200, { patToken: wire(p, withToken), patTokenError: "none" });
    switch (op) {
      case "list":
        return sendJson(res, 200, list(org, user, q));
      case "get":
        return result(patOf(org, user, q.get("authorizationId")));
      case "revoke": {
        const p = patOf(org, user, q.get("authorizationId"));
        p.revoked = true;
        if (options.revokeStatus === 200) {
          res.writeHead(200, { "content-length": "0" }).end();
        } else {
          res.writeHead(204).end();
        }
        return;
      }
      case "create": {
        const input = await body(req, createSchema);
        const displayName = checkDisplayName(input.displayName);
        const scope = checkScope(input.scope);
        const validTo = checkValidTo(input.validTo);
        if (input.allOrgs === true) throw new PatTokenErrorResult("globalPatPolicyViolation");
        const p = store(org, {
          authorizationId: randomUUID(),
          ownerObjectId: user,
          displayName,
          scope,
          validFrom: now(),
          validTo,
          revoked: false,
          token: randomPat(),
        });
        return result(p, true);
      }
      case "update": {
        const input = await body(req, updateSchema);
        const p = patOf(org, user, input.authorizationId);
        if (statusOf(p) === "revoked") throw new PatTokenErrorResult("authorizationNotFound");
        if (input.allOrgs === true) throw new PatTokenErrorResult("globalPatPolicyViolation");
        const changes = {
          ...(input.displayName !== undefined ? { displayName: checkDisplayName(input.displayName) } : {}),
          ...(input.scope !== undefined ? { scope: checkScope(input.scope) } : {}),
          ...(input.validTo !== undefined ? { validTo: checkValidTo(input.validTo) } : {}),
        };
        Object.assign(p, changes);
        return result(p);
      }
      default:
        throw new AdoError(405, "MethodNotAllowedException", "The method is not allowed.");
    }
  }

  /** connectionData with a PAT (Basic): proves the PAT works in this organization. */
  function connectionData(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    org: { name: string; id: string },
  ): void {
    const basic = /^Basic (\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const password =
      basic === undefined ? "" : Buffer.from(basic, "base64").toString("utf8").split(":").slice(1).join(":");
    const p = [...pats.values()].find((x) => x.token === password && password !== "");
    if (p === undefined || statusOf(p) !== "active" || !p.targetAccounts.includes(org.id)) {
      throw new AdoError(
        401,
        "UnauthorizedRequestException",
        "TF400813: The user is not authorized to access this resource.",
        {
          "www-authenticate": 'Basic realm="https://dev.azure.com/"',
        },
      );
    }
    const identity = {
      id: p.ownerObjectId,
      descriptor: `Microsoft.IdentityModel.Claims.ClaimsIdentity;${options.tenantId}\\${p.ownerObjectId}`,
      providerDisplayName: "PAT owner",
      isActive: true,
      properties: {},
    };
    sendJson(res, 200, {
      authenticatedUser: identity,
      authorizedUser: identity,
      instanceId: org.id,
      deploymentId: org.id,
      deploymentType: "hosted",
      locationServiceData: {
        serviceOwner: "00025394-6065-48ca-87d9-7f5672854ef7",
        defaultAccessMappingMoniker: "PublicAccessMapping",
      },
    });
  }

  function operationOf(method: string | undefined, rest: string): DevOpsOperation | undefined {
    if (rest === "connectiondata") return method === "GET" ? "connectionData" : undefined;
    if (rest !== "tokens/pats") return undefined;
    return (
      { GET: undefined, POST: "create", PUT: "update", DELETE: "revoke" } as Record<
        string,
        DevOpsOperation | undefined
      >
    )[method ?? ""];
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://localhost");
    const path = url.pathname.replace(/\/{2,}/g, "/");
    const controlled = await serveControl(req, res, path, {
      stats: () => stats,
      faults,
      faultSchema: faultSchema,
    });
    if (controlled) return;
    const match = /^\/([^/_][^/]*)\/_apis\/(.+?)\/?$/.exec(path);
    const rest = match?.[2]?.toLowerCase() ?? "";
    let op = operationOf(req.method, rest);
    if (req.method === "GET" && rest === "tokens/pats")
      op = url.searchParams.has("authorizationId") ? "get" : "list";
    if (match?.[1] === undefined || op === undefined) {
      req.resume();
      throw new AdoError(404, "NotFoundException", "The requested resource was not found.");
    }
    stats.requests += 1;
    stats.byOperation[op] = (stats.byOperation[op] ?? 0) + 1;
    const fault = faults.take(op);
    if (fault !== undefined) {
      req.resume();
      throw new AdoError(
        fault.status,
        fault.status === 429 ? "RequestBlockedException" : "ServiceUnavailableException",
        fault.status === 429 ? "Request was blocked due to exceeding usage of resource." : "Injected fault.",
        fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {},
      );
    }
    const org = orgOf(decodeURIComponent(match[1]));
    if (op === "connectionData") {
      req.resume();
      return connectionData(req, res, org);
    }
    return patApi(req, res, org, url.searchParams, op);
  }

  const server = https.createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof PatTokenErrorResult) {
        return sendJson(res, errorStatus, { patToken: null, patTokenError: error.patTokenError });
      }
      if (error instanceof AdoError) {
        return sendJson(
          res,
          error.status,
          {
            $id: "1",
            innerException: null,
            message: error.message,
            typeName: `Microsoft.VisualStudio.Services.WebApi.${error.typeKey}, Microsoft.VisualStudio.Services.WebApi`,
            typeKey: error.typeKey,
            errorCode: 0,
            eventId: 3000,
          },
          { activityid: randomUUID(), ...error.headers },
        );
      }
      sendJson(res, 500, {
        $id: "1",
        message: "An unexpected error occurred.",
        typeKey: "Exception",
        errorCode: 0,
        eventId: 0,
      });
    });
  });
  const listening = await listen(server, host, options.port ?? 0);
  return {
    url: `https://${host}:${listening.port}`,
    pats: (organization) =>
      [...pats.values()]
        .filter((p) => p.organization.toLowerCase() === organization.toLowerCase())
        .sort((a, b) => a.serial - b.serial)
        .map((p) => ({
          authorizationId: p.authorizationId,
          organization: p.organization,
          ownerObjectId: p.ownerObjectId,
          displayName: p.displayName,
          scope: p.scope,
          validFrom: iso(p.validFrom),
          validTo: iso(p.validTo),
          status: statusOf(p),
        })),
    addPat: (organization, pat) => {
      const org = orgs.get(organization.toLowerCase());
      if (org === undefined) throw new Error("addPat: unknown organization");
      return store(org, {
        authorizationId: randomUUID(),
        ownerObjectId: pat.ownerObjectId,
        displayName: pat.displayName,
        scope: pat.scope,
        validFrom: now(),
        validTo: pat.validTo.getTime(),
        revoked: false,
        token: pat.token,
      }).authorizationId;
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
