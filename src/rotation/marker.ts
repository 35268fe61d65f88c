/**
 * Upstream credentials the broker creates carry a marker in their display name, so a sweep can
 * find one that a crash left behind (created upstream, never stored in the vault) and revoke it.
 */
const PREFIX = "token-broker:";

export function markerFor(credentialName: string, now: number): string {
  return `${PREFIX}${credentialName}:${new Date(now).toISOString().slice(0, 10)}`;
}

/** The credential name a marker names, or undefined for display names that are not ours. */
export function credentialOfMarker(displayName: string): string | undefined {
  if (!displayName.startsWith(PREFIX)) return undefined;
  const name = displayName.slice(PREFIX.length).split(":")[0] ?? "";
  return /^[0-9a-zA-Z-]{1,127}$/.test(name) ? name : undefined;
}
