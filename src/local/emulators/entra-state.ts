import { randomBytes } from "node:crypto";
import type {
  DelegatedClientType,
  EntraClient,
  EntraClientSecret,
  EntraEmulatorOptions,
  EntraGrant,
} from "./entra.js";

/** The Entra emulator's tenant: apps and their secrets, users, refresh-token grants and pending device codes. */

const REFRESH_TOKEN_LIFETIME_MS = 90 * 24 * 3600_000;
/** Refresh tokens of SPA redirect URIs: 24 hours from the sign-in, not extended by rotation. */
const SPA_REFRESH_TOKEN_LIFETIME_MS = 24 * 3600_000;

interface RefreshGrant {
  userObjectId: string;
  clientId: string;
  clientType: DelegatedClientType;
  scope: string;
  /** Issue order: revocation compares it, since several tokens can share a millisecond. */
  serial: number;
  expiresAt: number;
}

interface DeviceCodeState {
  userCode: string;
  client: { id: string; type: DelegatedClientType };
  resource: string;
  scopes: string[];
  expiresAt: number;
  state: "pending" | "approved" | "declined";
  userObjectId?: string;
}

/** A user code as Entra shows them: nine letters and digits, without look-alikes. */
export function randomUserCode(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  return [...randomBytes(9)].map((b) => alphabet[b % alphabet.length]).join("");
}

export function createEntraState(options: EntraEmulatorOptions, now: () => number) {
  const clients = new Map(options.clients.map((c) => [c.clientId, c]));
  const clientSecrets = new Map<string, EntraClientSecret[]>();
  const users = new Map((options.users ?? []).map((u) => [u.objectId, u]));
  const publicClients = new Map((options.publicClients ?? []).map((c) => [c.clientId, c]));
  const spaClients = new Map((options.spaClients ?? []).map((c) => [c.clientId, c]));
  const refreshLifetime = options.refreshTokenLifetimeMs ?? REFRESH_TOKEN_LIFETIME_MS;
  const deviceCodes = new Map<string, DeviceCodeState>();
  const refreshGrants = new Map<string, RefreshGrant>();
  // Like refreshTokensValidFromDateTime: a user's grants issued before this serial are revoked.
  const refreshValidFrom = new Map<string, number>();
  let serial = 0;
  let stats = { tokenRequests: 0, byGrant: {} as Partial<Record<EntraGrant, number>> };

  function secretAccepted(client: EntraClient, secret: string): boolean {
    if (client.secret !== undefined && secret === client.secret) return true;
    const t = (options.secretClock ?? now)();
    return (clientSecrets.get(client.clientId) ?? []).some(
      (s) =>
        s.secret === secret &&
        (s.usableFrom === undefined || t >= s.usableFrom) &&
        (s.expiresOn ?? Infinity) > t,
    );
  }

  function newRefreshToken(grant: Omit<RefreshGrant, "serial" | "expiresAt">, expiresAt?: number): string {
    // Opaque, like Entra's (which are encrypted blobs starting "0.A"); only this emulator reads them.
    const value = `0.A${randomBytes(160).toString("base64url")}`;
    serial += 1;
    const lifetime = grant.clientType === "spa" ? SPA_REFRESH_TOKEN_LIFETIME_MS : refreshLifetime;
    refreshGrants.set(value, { ...grant, serial, expiresAt: expiresAt ?? now() + lifetime });
    return value;
  }

  /** The delegated client of `clientId` and its type; undefined when the tenant has no such app. */
  function delegatedClient(clientId: string): { id: string; type: DelegatedClientType } | undefined {
    if (publicClients.has(clientId)) return { id: clientId, type: "public" };
    if (spaClients.has(clientId)) return { id: clientId, type: "spa" };
    if (clients.has(clientId)) return { id: clientId, type: "confidential" };
    return undefined;
  }

  function pendingByUserCode(userCode: string): DeviceCodeState | undefined {
    const wanted = userCode.trim().toUpperCase();
    return [...deviceCodes.values()].find(
      (e) => e.state === "pending" && e.userCode === wanted && now() < e.expiresAt,
    );
  }

  return {
    clients,
    clientSecrets,
    users,
    deviceCodes,
    refreshGrants,
    refreshValidFrom,
    secretAccepted,
    newRefreshToken,
    delegatedClient,
    pendingByUserCode,
    /** Like refreshTokensValidFromDateTime: what the user holds so far stops working. */
    revokeRefreshTokens: (userObjectId: string) => {
      refreshValidFrom.set(userObjectId, serial + 1);
    },
    countRequest: (grant: EntraGrant) => {
      stats.tokenRequests += 1;
      stats.byGrant[grant] = (stats.byGrant[grant] ?? 0) + 1;
    },
    stats: () => stats,
    resetStats: () => {
      stats = { tokenRequests: 0, byGrant: {} };
    },
  };
}

export type EntraState = ReturnType<typeof createEntraState>;
