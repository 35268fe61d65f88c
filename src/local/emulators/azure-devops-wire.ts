import type { AdoError, StoredPat } from "./azure-devops-state.js";

/** What the Azure DevOps emulator answers: PatToken objects, listing continuation tokens, error bodies. */

export const iso = (ms: number) => new Date(ms).toISOString();
export const wire = (p: StoredPat, withToken: boolean) => ({
  displayName: p.displayName,
  validTo: iso(p.validTo),
  scope: p.scope,
  targetAccounts: p.allOrgs ? null : p.targetAccounts,
  validFrom: iso(p.validFrom),
  authorizationId: p.authorizationId,
  token: withToken ? p.token : null,
});

/** Listing state: where the next page starts and the filters it was made with (they must be resent). */
export function continuation(offset: number, filters: string): string {
  return Buffer.from(JSON.stringify({ o: offset, f: filters })).toString("base64url");
}

/** Azure DevOps' error body for an AdoError. */
export function adoErrorBody(error: AdoError): Record<string, unknown> {
  return {
    $id: "1",
    innerException: null,
    message: error.message,
    typeName: `Microsoft.VisualStudio.Services.WebApi.${error.typeKey}, Microsoft.VisualStudio.Services.WebApi`,
    typeKey: error.typeKey,
    errorCode: 0,
    eventId: 3000,
  };
}
