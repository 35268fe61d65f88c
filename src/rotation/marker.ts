import { createHash } from "node:crypto";
import { SECRET_NAME } from "../inventory/managed-credential.js";

/**
 * Upstream credentials the broker creates carry a marker in their display name, so a sweep can
 * find one that a crash left behind (created upstream, never stored in the vault) and revoke it.
 * The marker names this deployment (a digest of its vault's URL): brokers sharing a rotator
 * account or an app never touch each other's credentials, nor one a person named alike.
 */
const PREFIX = "token-broker:";

export function deploymentIdOf(vaultUrl: string): string {
  return createHash("sha256").update(vaultUrl.toLowerCase()).digest("hex").slice(0, 8);
}

export function markerFor(deploymentId: string, credentialName: string, now: number): string {
  return `${PREFIX}${deploymentId}:${credentialName}:${new Date(now).toISOString().slice(0, 10)}`;
}

/** The credential a marker of this deployment names, or undefined for any other display name. */
export function credentialOfMarker(deploymentId: string, displayName: string): string | undefined {
  const [prefix, deployment, name] = displayName.split(":");
  if (`${prefix ?? ""}:` !== PREFIX || deployment !== deploymentId) return undefined;
  return name !== undefined && SECRET_NAME.test(name) ? name : undefined;
}

/** Whether a display name carries a broker marker at all (this deployment's or another's). */
export function isBrokerMarker(displayName: string): boolean {
  return displayName.startsWith(PREFIX);
}
