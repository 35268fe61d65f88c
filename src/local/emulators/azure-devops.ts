import { randomUUID } from "node:crypto";
import type http from "node:http";
import https from "node:https";
import { z } from "zod";
import type { DevCertificate } from "../dev-certificate.js";
import { devOpsRoutes } from "./azure-devops-routes.js";
import { AdoError, PatTokenErrorResult, createPatState } from "./azure-devops-state.js";
import { adoErrorBody, iso } from "./azure-devops-wire.js";
import {
  listen,
  sendJson,
  FaultQueue,
  serveControl,
  operationFaultShape,
  OperationStats,
} from "./emulator-http.js";
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
    pat: {
      token: string;
      ownerObjectId: string;
      displayName: string;
      scope: string;
      validTo: Date;
      /** A global PAT (valid in every organization), as made before 2026-03-15. */
      allOrgs?: boolean;
      /** When it was made (default: now); a global PAT must predate 2026-03-15. */
      validFrom?: Date;
    },
  ) => string;
  /** The most PATs one listing page holds, whatever `$top` asks (a service may answer fewer); undefined: no cap. */
  setPageLimit: (limit: number | undefined) => void;
  stats: () => { requests: number; byOperation: Partial<Record<DevOpsOperation, number>> };
  resetStats: () => void;
  injectFault: (fault: DevOpsFault) => void;
  clearFaults: () => void;
  close: () => Promise<void>;
}

const faultSchema = z.strictObject(
  operationFaultShape(["create", "get", "list", "update", "revoke", "connectionData"]),
);

export async function startAzureDevOpsEmulator(
  options: AzureDevOpsEmulatorOptions,
): Promise<AzureDevOpsEmulator> {
  const now = options.now ?? Date.now;
  const host = options.host ?? "127.0.0.1";
  const errorStatus = options.patTokenErrorStatus ?? 200;
  const faults = new FaultQueue<DevOpsFault>();
  const stats = new OperationStats<DevOpsOperation>();
  const state = createPatState(options, now);
  const { orgs, pats, statusOf, store, orgOf } = state;
  const { patApi, connectionData } = devOpsRoutes(options, now, state);

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
      stats: () => stats.snapshot(),
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
    stats.count(op);
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
        return sendJson(res, error.status, adoErrorBody(error), {
          activityid: randomUUID(),
          ...error.headers,
        });
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
      return store(
        org,
        {
          authorizationId: randomUUID(),
          ownerObjectId: pat.ownerObjectId,
          displayName: pat.displayName,
          scope: pat.scope,
          validFrom: pat.validFrom?.getTime() ?? now(),
          validTo: pat.validTo.getTime(),
          revoked: false,
          token: pat.token,
        },
        pat.allOrgs === true,
      ).authorizationId;
    },
    setPageLimit: state.setPageLimit,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    close: listening.close,
  };
}
