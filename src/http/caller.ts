import { Authenticator } from "../auth/authenticator.js";
import { tokenRoles, type Principal } from "../auth/principal.js";
import type { Runtime } from "../runtime.js";
import { problems } from "./problem.js";
import { ROLES, type Role } from "./roles.js";
import type { BrokerRequest } from "./types.js";

export { ROLES, type Role };

/** Roles imply the ones below them: an admin may also read the inventory and the policy. */
const IMPLIED: Record<Role, readonly Role[]> = {
  "Inventory.Read": [],
  "Policy.Read": [],
  "Secrets.Admin": ["Inventory.Read", "Policy.Read"],
};

const isRole = (role: string): role is Role => Object.hasOwn(IMPLIED, role);

/** App roles from the Entra token's `roles` claim, plus a matching grant's `roles` (issuers without app roles). */
export function rolesOf(rt: Runtime, principal: Principal): Set<Role> {
  const out = new Set<Role>();
  for (const role of [...tokenRoles(principal), ...rt.policy.entitlements(principal).roles]) {
    if (isRole(role)) {
      out.add(role);
      for (const implied of IMPLIED[role]) out.add(implied);
    }
  }
  return out;
}

/** The verified caller of a request: 401 without a valid token. */
export async function authenticatedCaller(req: BrokerRequest, rt: Runtime): Promise<Principal> {
  const token = Authenticator.bearerToken(req.headers["authorization"]);
  return rt.authenticator.cached(token) ?? (await rt.authenticator.authenticate(token));
}

/** The verified caller of a request that needs `role`: 401 without a valid token, 403 without the role. */
export async function requireRole(req: BrokerRequest, rt: Runtime, role: Role): Promise<Principal> {
  const principal = await authenticatedCaller(req, rt);
  if (!rolesOf(rt, principal).has(role)) throw problems.roleRequired(role);
  return principal;
}
