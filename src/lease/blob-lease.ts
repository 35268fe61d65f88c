import type { TokenCredential } from "@azure/core-auth";
import { isRestError } from "@azure/core-rest-pipeline";
import type { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import type { LeaseStorageSetting } from "../config.js";
import { describeError, type Logger } from "../log.js";
import type { Lease, LeaseProvider } from "./lease.js";

/**
 * Leases as Azure Storage blob leases: atomic across processes and instances, and they expire by
 * themselves when a holder dies (LEASE_SECONDS), so a crash never blocks the next sweep for long.
 * One empty blob per lease name, `locks/<name>` in the container below.
 */

export const LEASE_CONTAINER = "token-broker";
/** Blob leases last 15-60 s or forever; short, renewed while held, so a crashed holder frees it soon. */
const LEASE_SECONDS = 30;
const RENEW_EVERY_MS = 10_000;
const SAFETY_MARGIN_MS = 5_000;

export interface BlobLeaseOptions {
  storage: LeaseStorageSetting;
  /** For a service URL: the broker's identity (Storage Blob Data Contributor on the container). */
  credential: TokenCredential;
  log: Logger;
  renewEveryMs?: number;
  /** Tests: the clock a lease's term is measured on (default: the wall clock). */
  now?: () => number;
}

/** The storage SDK loads at the first lease, not at start: no request path but the sweeps needs it. */
async function serviceClient(options: BlobLeaseOptions): Promise<BlobServiceClient> {
  const { BlobServiceClient } = await import("@azure/storage-blob");
  const retryOptions = { maxTries: 3, tryTimeoutInMs: 10_000 };
  return options.storage.kind === "service-url"
    ? new BlobServiceClient(options.storage.url, options.credential, { retryOptions })
    : BlobServiceClient.fromConnectionString(options.storage.connectionString, { retryOptions });
}

const statusOf = (error: unknown) => (isRestError(error) ? error.statusCode : undefined);

export class BlobLeaseProvider implements LeaseProvider {
  readonly scope = "blob";
  private ready: Promise<ContainerClient> | undefined;

  constructor(private readonly options: BlobLeaseOptions) {}

  private container(): Promise<ContainerClient> {
    this.ready ??= (async () => {
      const container = (await serviceClient(this.options)).getContainerClient(LEASE_CONTAINER);
      await container.createIfNotExists();
      return container;
    })().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  async tryAcquire(name: string): Promise<Lease | undefined> {
    const container = await this.container();
    const blob = container.getBlockBlobClient(`locks/${name}`);
    try {
      // Create once; a leased blob refuses the write (412) and an existing one the condition (409/412).
      await blob.upload("", 0, { conditions: { ifNoneMatch: "*" } });
    } catch (error) {
      const status = statusOf(error);
      if (status !== 409 && status !== 412) throw error;
    }
    const client = blob.getBlobLeaseClient();
    try {
      await client.acquireLease(LEASE_SECONDS);
    } catch (error) {
      if (statusOf(error) === 409) return undefined;
      throw error;
    }
    let lost = false;
    let released = false;
    // Held for sure only until the last confirmed renewal's term runs out (less a margin for
    // clock and network): a renewal that hangs must not leave the holder believing it still holds.
    const { log, now = Date.now } = this.options;
    let heldUntil = now() + LEASE_SECONDS * 1000 - SAFETY_MARGIN_MS;
    const timer = setInterval(() => {
      const asked = now();
      client.renewLease().then(
        () => {
          heldUntil = asked + LEASE_SECONDS * 1000 - SAFETY_MARGIN_MS;
        },
        (error: unknown) => {
          lost = true;
          clearInterval(timer);
          log.error("lease.lost", { lease: name, error: describeError(error) });
        },
      );
    }, this.options.renewEveryMs ?? RENEW_EVERY_MS);
    timer.unref();
    return {
      lost: () => lost || now() > heldUntil,
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        try {
          await client.releaseLease();
        } catch (error) {
          // It expires by itself within LEASE_SECONDS; nothing else to do.
          log.warn("lease.release_failed", { lease: name, error: describeError(error) });
        }
      },
    };
  }
}
