import { randomBytes, randomInt } from "node:crypto";
import type { SecretClient } from "@azure/keyvault-secrets";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomFrom(alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet.charAt(randomInt(alphabet.length));
  return out;
}

/** A random value in the 84-character PAT format (76 alphanumerics, AZDO, 4 alphanumerics). */
export function randomPat(): string {
  return `${randomFrom(ALPHANUMERIC, 76)}AZDO${randomFrom(ALPHANUMERIC, 4)}`;
}

/** An Entra-style client secret (40 characters, like the ones Graph's addPassword returns). */
export function randomClientSecret(): string {
  return randomBytes(30).toString("base64").replace(/[+/=]/g, "~").slice(0, 40);
}

const DAY = 24 * 3600_000;
export const SAMPLE_PAT_LIFETIME_DAYS = 30;
export const SAMPLE_APP_SECRET_LIFETIME_DAYS = 180;
/** Inside the default notice window (7 days): the notice sweep warns its owner, `status=expiring` lists it. */
export const SAMPLE_EXPIRING_PAT_DAYS = 5;
/**
 * The auto-rotated sample expires inside the default rotation window (10 days) but outside the
 * notice window, so the first rotation sweep rotates it and no owner is warned about it.
 */
export const SAMPLE_AUTO_PAT_DAYS = 9;
export const SAMPLE_AUTO_PAT_LIFETIME_DAYS = 30;
/** Entra refresh tokens expire after 90 days without use; each use gives a new one. */
export const REFRESH_TOKEN_LIFETIME_DAYS = 90;

/** The values the sample secrets hold, known to the emulators that issued them. */
export interface SampleSecrets {
  pat: string;
  /** The sample PAT's id at the Azure DevOps emulator. */
  patAuthorizationId: string;
  appSecret: string;
  appObjectId: string;
  appClientId: string;
  /** The sample client secret's keyId at the Graph emulator. */
  appKeyId: string;
  /** A manual PAT about to expire (`pat-contoso-packages`) and its id at the Azure DevOps emulator. */
  expiringPat: string;
  expiringPatAuthorizationId: string;
  /** An auto-rotated PAT of the rotator's user (`pat-contoso-code`), due for rotation, and its id. */
  autoPat: string;
  autoPatAuthorizationId: string;
  /** The PAT owner's refresh token for the rotator's public client. */
  refreshToken: string;
  refreshTokenOwner: string;
  publicClientId: string;
}

/**
 * Seeds the emulated vault through the real SecretClient: managed by the broker, a PAT, a PAT
 * about to expire, a PAT due for auto rotation, an app client secret and the PAT owner's refresh
 * token; and one unrelated secret it must leave alone.
 */
export async function seedVault(client: SecretClient, seed: SampleSecrets, now = Date.now()): Promise<void> {
  /** A managed PAT in contoso, known to the Azure DevOps emulator by its authorization id. */
  const samplePat = (
    name: string,
    value: string,
    p: {
      days: number;
      owner: string;
      scopes: string;
      rotation: "manual" | "auto";
      lifetimeDays: number;
      id: string;
    },
  ) =>
    client.setSecret(name, value, {
      contentType: "application/vnd.azure-devops.pat",
      expiresOn: new Date(now + p.days * DAY),
      tags: {
        "managed-by": "token-broker",
        kind: "pat",
        owner: p.owner,
        org: "contoso",
        scopes: p.scopes,
        rotation: p.rotation,
        "lifetime-days": String(p.lifetimeDays),
        "authorization-id": p.id,
      },
    });
  await samplePat("pat-contoso-nuget", seed.pat, {
    days: SAMPLE_PAT_LIFETIME_DAYS,
    owner: "team-build@contoso.com",
    scopes: "vso.packaging",
    rotation: "manual",
    lifetimeDays: SAMPLE_PAT_LIFETIME_DAYS,
    id: seed.patAuthorizationId,
  });
  await samplePat("pat-contoso-packages", seed.expiringPat, {
    days: SAMPLE_EXPIRING_PAT_DAYS,
    owner: "team-packages@contoso.com",
    scopes: "vso.packaging",
    rotation: "manual",
    lifetimeDays: SAMPLE_PAT_LIFETIME_DAYS,
    id: seed.expiringPatAuthorizationId,
  });
  await samplePat("pat-contoso-code", seed.autoPat, {
    days: SAMPLE_AUTO_PAT_DAYS,
    owner: "team-build@contoso.com",
    scopes: "vso.code",
    rotation: "auto",
    lifetimeDays: SAMPLE_AUTO_PAT_LIFETIME_DAYS,
    id: seed.autoPatAuthorizationId,
  });
  await client.setSecret("app-downstream-secret", seed.appSecret, {
    contentType: "application/vnd.microsoft.entra.client-secret",
    expiresOn: new Date(now + SAMPLE_APP_SECRET_LIFETIME_DAYS * DAY),
    tags: {
      "managed-by": "token-broker",
      kind: "client-secret",
      owner: "team-platform@contoso.com",
      rotation: "manual",
      "lifetime-days": String(SAMPLE_APP_SECRET_LIFETIME_DAYS),
      "application-object-id": seed.appObjectId,
      "client-id": seed.appClientId,
      "key-id": seed.appKeyId,
      // The dev stack made this password itself and knows its value: as proven at import.
      "verified-key-ids": seed.appKeyId,
    },
  });
  await client.setSecret("refresh-token-pat-owner", seed.refreshToken, {
    contentType: "application/vnd.microsoft.entra.refresh-token",
    expiresOn: new Date(now + REFRESH_TOKEN_LIFETIME_DAYS * DAY),
    tags: {
      "managed-by": "token-broker",
      kind: "refresh-token",
      owner: seed.refreshTokenOwner,
      rotation: "manual",
      "client-id": seed.publicClientId,
      "client-type": "public",
      "last-redeemed": new Date(now).toISOString(),
    },
  });
  await client.setSecret("unrelated-db-password", randomClientSecret(), { contentType: "text/plain" });
}

/** Many managed PATs (`{prefix}-0000`…, manual rotation, expiring far out), for cost tests and the benchmark. */
export function manyPats(
  count: number,
  options: { prefix?: string; now?: number } = {},
): { name: string; value: string; contentType: string; expiresOn: Date; tags: Record<string, string> }[] {
  const { prefix = "bulk", now = Date.now() } = options;
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}-${String(i).padStart(4, "0")}`,
    value: randomPat(),
    contentType: "application/vnd.azure-devops.pat",
    expiresOn: new Date(now + 200 * DAY),
    tags: { "managed-by": "token-broker", kind: "pat", owner: "bulk@contoso.com", rotation: "manual" },
  }));
}
