import type { PatCheck } from "../devops/pat-check.js";
import { DevOpsError } from "../devops/devops-error.js";
import type { ImportRequest } from "./import-request.js";
import { InventoryError } from "./inventory-error.js";
import { TAG } from "./managed-credential.js";

/** Asks Azure DevOps whether a PAT works in an organization (`checkPat` against BROKER_DEVOPS_URL). */
export type PatVerifier = (organization: string, pat: string) => Promise<PatCheck>;

/**
 * A PAT value is proven to work in its organization before it creates or replaces anything, so an
 * import can never swap a working credential for a dead one. `verify: false` skips it (a PAT for
 * an organization the broker cannot reach). Refusals and outages store nothing; the value is never
 * quoted. The authenticated user (`userId`) is not kept: nothing needs it.
 */
export async function verifyPatValue(
  verifier: PatVerifier,
  request: ImportRequest,
  tags: Readonly<Record<string, string>>,
): Promise<void> {
  if (request.kind !== "pat" || request.value === undefined || request.verify === false) return;
  const organization = tags[TAG.organization];
  if (organization === undefined) {
    throw new InventoryError("invalid_field", {
      field: "organization",
      message: "is required to check the PAT with Azure DevOps (or send verify: false)",
    });
  }
  let check: PatCheck;
  try {
    check = await verifier(organization, request.value);
  } catch (error) {
    // Only a stored tag set by hand can be no organization name: the request's is checked.
    if (error instanceof RangeError) {
      throw new InventoryError("invalid_field", {
        field: "organization",
        message: "must be an Azure DevOps organization name",
      });
    }
    if (!(error instanceof DevOpsError)) throw error;
    const reason = error.reason;
    if (reason.kind === "throttled" || reason.kind === "unavailable") {
      throw new InventoryError("pat_check_unavailable", undefined, {
        retryAfterSeconds: reason.retryAfterSeconds,
      });
    }
    // An answer of another shape cannot tell either way: as good as no answer.
    if (reason.kind === "malformed") throw new InventoryError("pat_check_unavailable");
    if (reason.kind === "rejected" && reason.status === 404) {
      throw new InventoryError("organization_not_found", undefined, { organization });
    }
    throw new InventoryError("pat_check_failed");
  }
  if (!check.valid) throw new InventoryError("pat_rejected", undefined, { organization });
}
