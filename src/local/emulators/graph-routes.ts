import { randomUUID } from "node:crypto";
import type http from "node:http";
import { z } from "zod";
import { randomClientSecret } from "../sample-data.js";
import type { GraphEmulatorOptions } from "./graph.js";
import {
  GraphHttpError,
  type ApplicationState,
  type StoredApplication,
  type StoredPassword,
} from "./graph-state.js";
import { wire } from "./graph-wire.js";
import { readJsonBody, sendJson } from "./emulator-http.js";

/** The Graph emulator's access control (app-only callers and their roles) and its password changes. */

const GRAPH_RESOURCE = "https://graph.microsoft.com";
const DEFAULT_LIFETIME_MS = 2 * 365 * 24 * 3600_000;

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

/** What an app-only caller may do with applications, from its token's `roles` (app role assignments). */
export interface Caller {
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

export function mayChange(who: Caller, app: { owners: readonly string[] }): boolean {
  return who.permission === "All" || app.owners.includes(who.objectId);
}

export const insufficientPrivileges = () =>
  new GraphHttpError(
    403,
    "Authorization_RequestDenied",
    "Insufficient privileges to complete the operation.",
  );

export function graphRoutes(
  options: GraphEmulatorOptions,
  now: () => number,
  state: ApplicationState,
  origin: () => string,
) {
  const propagationClock = options.propagationClock ?? now;
  const { absentKeyId } = state;

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
    const parsed = await readJsonBody(req, schema);
    if (parsed === undefined)
      throw new GraphHttpError(400, "Request_BadRequest", "The request body is not valid.");
    return parsed;
  }

  /** `POST .../addPassword`; `applied` answers an after-applying fault once the secret exists. */
  async function addPassword(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    app: StoredApplication,
    applied: () => void,
  ): Promise<void> {
    const input = (await body(req, addSchema)).passwordCredential ?? {};
    const start = input.startDateTime !== undefined ? Date.parse(input.startDateTime) : now();
    const end = input.endDateTime !== undefined ? Date.parse(input.endDateTime) : start + DEFAULT_LIFETIME_MS;
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
      usableFrom: Math.max(start, propagationClock() + state.propagationDelay()),
      expiresOn: end,
    });
    applied();
    return sendJson(res, 200, {
      "@odata.context": `${origin()}/v1.0/$metadata#microsoft.graph.passwordCredential`,
      ...wire(stored, stored.secret),
    });
  }

  /** `POST .../removePassword`; `applied` as for addPassword. */
  async function removePassword(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    app: StoredApplication,
    applied: () => void,
  ): Promise<void> {
    const { keyId } = await body(req, removeSchema);
    const index = app.passwords.findIndex((p) => p.keyId.toLowerCase() === keyId.toLowerCase());
    if (index < 0) throw absentKeyId(keyId);
    const [removed] = app.passwords.splice(index, 1);
    if (removed !== undefined) options.onPasswordRemoved?.({ appId: app.appId, keyId: removed.keyId });
    applied();
    res.writeHead(204).end();
  }

  return { caller, addPassword, removePassword };
}
