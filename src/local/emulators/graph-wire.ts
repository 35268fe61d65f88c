import type { GraphFault } from "./graph.js";
import { GraphHttpError, type StoredPassword } from "./graph-state.js";

/** What the Graph emulator answers: passwordCredential and application objects, and injected faults. */

export const iso = (ms: number) => new Date(ms).toISOString();
export const wire = (p: StoredPassword, secretText: string | null) => ({
  customKeyIdentifier: null,
  displayName: p.displayName,
  endDateTime: iso(p.end),
  hint: p.secret.slice(0, 3),
  keyId: p.keyId,
  secretText,
  startDateTime: iso(p.start),
});

/** An application as GET answers it: `$select` picks the properties (and names them in the context). */
export function selected(
  app: { objectId: string; appId: string; displayName: string; passwords: StoredPassword[] },
  select: string | null,
  origin: string,
): Record<string, unknown> {
  const all: Record<string, unknown> = {
    id: app.objectId,
    appId: app.appId,
    displayName: app.displayName,
    passwordCredentials: app.passwords.map((p) => wire(p, null)),
  };
  const picked = (select ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s in all);
  if (picked.length === 0) {
    return { "@odata.context": `${origin}/v1.0/$metadata#applications/$entity`, ...all };
  }
  return {
    "@odata.context": `${origin}/v1.0/$metadata#applications(${picked.join(",")})/$entity`,
    ...Object.fromEntries(picked.map((k) => [k, all[k]])),
  };
}

export function faultError(fault: GraphFault): GraphHttpError {
  const code =
    fault.status === 429
      ? "TooManyRequests"
      : fault.status === 401
        ? "InvalidAuthenticationToken"
        : fault.status === 403
          ? "Authorization_RequestDenied"
          : "serviceNotAvailable";
  return new GraphHttpError(
    fault.status,
    code,
    "Injected fault.",
    fault.retryAfterSeconds !== undefined ? { "retry-after": String(fault.retryAfterSeconds) } : {},
  );
}
