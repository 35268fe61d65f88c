import { randomUUID } from "node:crypto";
import type http from "node:http";
import { z } from "zod";
import { randomPat } from "../sample-data.js";
import type { AzureDevOpsEmulatorOptions, DevOpsOperation } from "./azure-devops.js";
import { AdoError, PatTokenErrorResult, type PatState, type StoredPat } from "./azure-devops-state.js";
import { continuation, wire } from "./azure-devops-wire.js";
import { readJsonBody, sendJson } from "./emulator-http.js";

/** The Azure DevOps emulator's routes: the PAT lifecycle API (user-delegated callers) and connectionData (a PAT). */

const API_VERSION = "7.1-preview.1";
const ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798";
const MAX_TOP = 100;

const createSchema = z.object({
  displayName: z.string().optional(),
  scope: z.string().optional(),
  validTo: z.string().optional(),
  allOrgs: z.boolean().optional(),
});
const updateSchema = createSchema.extend({ authorizationId: z.string() });

export function devOpsRoutes(options: AzureDevOpsEmulatorOptions, now: () => number, state: PatState) {
  const defaultPage = options.pageSize ?? 20;
  const { pats, statusOf, store, patOf, checkValidTo, checkScope, checkDisplayName } = state;
  const { checkAllOrgs, authenticates } = state;

  async function body<T extends z.ZodType>(req: http.IncomingMessage, schema: T): Promise<z.output<T>> {
    const parsed = await readJsonBody(req, schema);
    if (parsed === undefined) {
      throw new AdoError(400, "InvalidArgumentValueException", "The request body is missing or not valid.");
    }
    return parsed;
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
      .filter((p) => (p.organization === org.name || p.allOrgs) && p.ownerObjectId === user)
      .filter((p) => display === "all" || statusOf(p) === display)
      .sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        const order = x < y ? -1 : x > y ? 1 : a.serial - b.serial;
        return ascending ? order : -order;
      });
    // A page may hold fewer than asked (the page-limit knob): the token says where the next starts.
    const size = Math.min(top, state.pageLimit() ?? top);
    const chunk = all.slice(offset, offset + size);
    const more = offset + size < all.length;
    return {
      continuationToken: more ? continuation(offset + size, filters) : "",
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
        const allOrgs = checkAllOrgs(input.allOrgs);
        const p = store(
          org,
          {
            authorizationId: randomUUID(),
            ownerObjectId: user,
            displayName,
            scope,
            validFrom: now(),
            validTo,
            revoked: false,
            token: randomPat(),
          },
          allOrgs,
        );
        return result(p, true);
      }
      case "update": {
        const input = await body(req, updateSchema);
        const p = patOf(org, user, input.authorizationId);
        if (statusOf(p) === "revoked") throw new PatTokenErrorResult("authorizationNotFound");
        // Turning a PAT global is creating a global PAT; making a global one single-org is not emulated.
        if (input.allOrgs === true && !p.allOrgs) checkAllOrgs(true);
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
    if (p === undefined || !authenticates(p, org)) {
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

  return { patApi, connectionData };
}
