import type { SecretClient } from "@azure/keyvault-secrets";
import { ALL_ORGANIZATIONS } from "../inventory/managed-credential.js";
import type { AzureDevOpsEmulator } from "./emulators/azure-devops.js";
import { GLOBAL_PAT_CREATION_BLOCKED } from "./emulators/azure-devops-state.js";
import { DEV_USER } from "./dev-identities.js";
import { randomPat } from "./sample-data.js";

/**
 * What `npm start` shows of drift and of the global-PAT retirement: a PAT the rotator's user made
 * upstream by hand that nobody stored (`token-broker drift` lists it), and a global PAT the vault
 * still holds from before Azure DevOps retired them (`inventory list` shows it `retired`).
 */

const DAY = 24 * 3600_000;
export const DRIFT_SAMPLE_PAT_NAME = "hand-made-feed-token";
export const LEGACY_GLOBAL_PAT = "pat-legacy-all-orgs";

export interface DriftSamples {
  /** The upstream-only PAT's authorization id (no vault secret holds it). */
  unstoredAuthorizationId: string;
  /** The stored global PAT's authorization id. */
  globalAuthorizationId: string;
}

export async function seedDriftSamples(
  devops: AzureDevOpsEmulator,
  vault: SecretClient,
  now = Date.now(),
): Promise<DriftSamples> {
  const unstoredAuthorizationId = devops.addPat("contoso", {
    token: randomPat(),
    ownerObjectId: DEV_USER.objectId,
    displayName: DRIFT_SAMPLE_PAT_NAME,
    scope: "vso.packaging_write",
    validTo: new Date(now + 60 * DAY),
  });
  // Made a month before creation was blocked, with a year's lifetime: still valid, no longer usable.
  const madeOn = GLOBAL_PAT_CREATION_BLOCKED - 30 * DAY;
  const value = randomPat();
  const globalAuthorizationId = devops.addPat("contoso", {
    token: value,
    ownerObjectId: DEV_USER.objectId,
    displayName: "legacy all-orgs token",
    scope: "vso.code",
    validFrom: new Date(madeOn),
    validTo: new Date(Math.max(madeOn + 365 * DAY, now + 30 * DAY)),
    allOrgs: true,
  });
  // Stored as the broker stored global PATs before it refused them (`org` = every organization).
  await vault.setSecret(LEGACY_GLOBAL_PAT, value, {
    contentType: "application/vnd.azure-devops.pat",
    expiresOn: new Date(Math.max(madeOn + 365 * DAY, now + 30 * DAY)),
    tags: {
      "managed-by": "token-broker",
      kind: "pat",
      owner: "team-legacy@contoso.com",
      org: ALL_ORGANIZATIONS,
      scopes: "vso.code",
      rotation: "manual",
      "lifetime-days": "30",
      "authorization-id": globalAuthorizationId,
    },
  });
  return { unstoredAuthorizationId, globalAuthorizationId };
}
