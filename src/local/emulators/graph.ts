import { randomUUID } from "node:crypto";
import type http from "node:http";
import https from "node:https";
import { z } from "zod";
import type { DevCertificate } from "../dev-certificate.js";
import {
  listen,
  sendJson,
  FaultQueue,
  serveControl,
  operationFaultShape,
  OperationStats,
} from "./emulator-http.js";
import { graphRoutes, insufficientPrivileges, mayChange } from "./graph-routes.js";
import { DEFAULT_PROPAGATION_DELAY_MS, GraphHttpError, createApplicationState } from "./graph-state.js";
import { faultError, iso, selected } from "./graph-wire.js";
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

export { DEFAULT_PROPAGATION_DELAY_MS };

const faultSchema = z.strictObject({
  ...operationFaultShape(["addPassword", "removePassword", "getApplication"]),
  afterApplying: z.boolean().optional(),
});

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

export async function startGraphEmulator(options: GraphEmulatorOptions): Promise<GraphEmulator> {
  const now = options.now ?? Date.now;
  const host = options.host ?? "127.0.0.1";
  const faults = new FaultQueue<GraphFault>();
  const stats = new OperationStats<GraphOperation>();
  let origin = "";
  const state = createApplicationState(options, now);
  const { apps, appOf } = state;
  const { caller, addPassword, removePassword } = graphRoutes(options, now, state, () => origin);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", origin);
    const path = url.pathname;
    const controlled = await serveControl(req, res, path, {
      stats: () => stats.snapshot(),
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
    stats.count(op);
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
      return sendJson(res, 200, selected(app, url.searchParams.get("$select"), origin));
    }
    if (op === "addPassword") return addPassword(req, res, app, applied);
    return removePassword(req, res, app, applied);
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
    setPropagationDelay: state.setPropagationDelay,
    setAbsentKeyIdStatus: state.setAbsentKeyIdStatus,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    close: listening.close,
  };
}
