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

/**
 * Seeds the emulated vault through the real SecretClient: one PAT and one app client secret
 * managed by the broker, and one unrelated secret the broker must leave alone.
 */
export async function seedVault(client: SecretClient, appSecret: string, now = Date.now()): Promise<void> {
  await client.setSecret("pat-contoso-nuget", randomPat(), {
    contentType: "application/vnd.azure-devops.pat",
    expiresOn: new Date(now + 30 * DAY),
    tags: {
      "managed-by": "token-broker",
      kind: "pat",
      owner: "team-build@contoso.com",
      org: "contoso",
      scopes: "vso.packaging",
      rotation: "manual",
      "lifetime-days": "30",
    },
  });
  await client.setSecret("app-downstream-secret", appSecret, {
    contentType: "application/vnd.microsoft.entra.client-secret",
    expiresOn: new Date(now + 180 * DAY),
    tags: {
      "managed-by": "token-broker",
      kind: "client-secret",
      owner: "team-platform@contoso.com",
      rotation: "manual",
      "lifetime-days": "180",
    },
  });
  await client.setSecret("unrelated-db-password", randomClientSecret(), { contentType: "text/plain" });
}
