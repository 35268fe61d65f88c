import type { Principal } from "../../auth/principal.js";
import type { WhoamiWire } from "../../wire/whoami.js";
import { rolesOf } from "../caller.js";
import { json, type CallerHandler } from "../route.js";

/**
 * `GET /api/whoami`: the verified caller (authenticated and audited by the pipeline) and what
 * the policy grants it. Identifiers only: the token, or any other credential, is never echoed.
 */
export const getWhoami: CallerHandler = (_input, rt, caller) => {
  const answer: WhoamiWire = {
    issuer: caller.issuer,
    issuerKind: caller.issuerKind,
    subject: caller.subject,
    clientId: claim(caller, "appid") ?? claim(caller, "azp") ?? null,
    tenantId: claim(caller, "tid") ?? null,
    objectId: claim(caller, "oid") ?? null,
    roles: [...rolesOf(rt, caller)].sort(),
    profiles: [...rt.policy.entitlements(caller).profiles].sort(),
    expiresOn: new Date(caller.expiresAt).toISOString(),
  };
  return Promise.resolve(json(200, answer, { "cache-control": "no-store" }));
};

function claim(principal: Principal, name: string): string | undefined {
  const value = principal.claims[name];
  return typeof value === "string" ? value : undefined;
}
