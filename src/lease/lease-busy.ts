import { DomainError } from "../domain-error.js";
import { withLease, type Lease, type LeaseProvider } from "./lease.js";

/** Another holder has the lease (a sweep is running): nothing was done; try again shortly. */
export class LeaseBusyError extends DomainError<"lease_busy"> {
  override name = "LeaseBusyError";
  constructor(
    /** The lease that was held elsewhere. */
    readonly lease: string,
  ) {
    super("lease_busy", `lease busy: ${lease}`);
  }
}

/** Runs `work` under the named lease; throws LeaseBusyError, before any work, when it is held elsewhere. */
export async function underLease<T>(
  provider: LeaseProvider,
  name: string,
  work: (lease: Lease) => Promise<T>,
): Promise<T> {
  const outcome = await withLease(provider, name, work);
  if (!outcome.acquired) throw new LeaseBusyError(name);
  return outcome.value;
}
