/**
 * The lease port: mutual exclusion for sweeps that must not run twice at once, across processes
 * and instances (timer and admin route, scale-out). A held lease is renewed in the background
 * until released; `lost()` turns true if renewal failed, and then the holder must stop writing.
 */

export interface Lease {
  /** True once the lease could not be renewed: another holder may have it now. */
  lost(): boolean;
  release(): Promise<void>;
}

export interface LeaseProvider {
  /** What backs the leases, for logs: `blob` or `process`. */
  readonly scope: "blob" | "process";
  /** The lease, or undefined when someone else holds it. */
  tryAcquire(name: string): Promise<Lease | undefined>;
}

/**
 * The work is already running under its lease elsewhere (timer, route, another instance): that
 * holder does it, so the caller is told to ask again later rather than wait.
 */
export type Leased<T> = { acquired: true; value: T } | { acquired: false };

/** Runs `work` under the named lease, or not at all when it is held elsewhere. */
export async function withLease<T>(
  provider: LeaseProvider,
  name: string,
  work: (lease: Lease) => Promise<T>,
): Promise<Leased<T>> {
  const lease = await provider.tryAcquire(name);
  if (lease === undefined) return { acquired: false };
  try {
    return { acquired: true, value: await work(lease) };
  } finally {
    await lease.release();
  }
}

/**
 * Leases within this process only. Enough for one instance; NOT for several (scale-out, two
 * hosts on one vault): configure lease storage there. Used when no storage is configured.
 */
export class ProcessLeaseProvider implements LeaseProvider {
  readonly scope = "process";
  private readonly held = new Set<string>();

  tryAcquire(name: string): Promise<Lease | undefined> {
    if (this.held.has(name)) return Promise.resolve(undefined);
    this.held.add(name);
    let released = false;
    return Promise.resolve({
      lost: () => false,
      release: () => {
        if (!released) this.held.delete(name);
        released = true;
        return Promise.resolve();
      },
    });
  }
}
