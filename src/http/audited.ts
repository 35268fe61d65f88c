import { auditIdentity, type Principal } from "../auth/principal.js";
import type { Runtime } from "../runtime.js";
import { authenticatedCaller, requireRole, type Role } from "./caller.js";
import { auditOutcome, toProblem } from "./errors.js";
import type { Handler } from "./route.js";
import type { BrokerRequest, BrokerResponse } from "./types.js";
import { SECRET_NAME } from "../inventory/managed-credential.js";
import { isPatFormat } from "../devops/pat-format.js";

/**
 * A route that needs an app role (or, `authenticated`, only a verified caller), written as one
 * audit line per call (who, what, which name, outcome): ops reads, admin writes, sweeps and
 * whoami leave the same trail as token issuance.
 */
export function audited(
  event: "audit.inventory" | "audit.admin" | "audit.caller",
  action: string,
  role: Role | "authenticated",
  run: (req: BrokerRequest, rt: Runtime, caller: Principal) => Promise<BrokerResponse>,
): Handler {
  return async (req, rt) => {
    let principal: Principal | undefined;
    // Only a name of the secret-name shape is written to the audit trail, and never one shaped
    // like a PAT (a secret name may be one: 84 letters and digits).
    const param = req.params["name"] ?? "";
    const name = SECRET_NAME.test(param) && !isPatFormat(param) ? param : undefined;
    try {
      principal =
        role === "authenticated" ? await authenticatedCaller(req, rt) : await requireRole(req, rt, role);
      const response = await run(req, rt, principal);
      rt.log.info(event, {
        action,
        outcome: "ok",
        status: response.status,
        caller: auditIdentity(principal),
        name,
      });
      return response;
    } catch (error) {
      const problem = toProblem(error, rt.log);
      const outcome = auditOutcome(problem);
      rt.log[outcome === "failed" ? "error" : "info"](event, {
        action,
        outcome,
        status: problem.status,
        code: problem.code,
        ...(principal !== undefined ? { caller: auditIdentity(principal) } : {}),
        name,
      });
      throw problem;
    }
  };
}
