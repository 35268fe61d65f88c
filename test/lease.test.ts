import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BlobServiceClient } from "@azure/storage-blob";
import { BlobLeaseProvider, LEASE_CONTAINER } from "../src/lease/blob-lease.js";
import { ProcessLeaseProvider, withLease } from "../src/lease/lease.js";
import { startAzuriteBlob } from "../src/local/emulators/azurite.js";
import { createLogger } from "../src/log.js";

describe("process leases", () => {
  test("a process lease is held once until released", async () => {
    const leases = new ProcessLeaseProvider();
    const inner = await withLease(leases, "x", async () => (await leases.tryAcquire("x")) === undefined);
    assert.deepEqual(inner, { acquired: true, value: true });
    assert.ok((await leases.tryAcquire("x")) !== undefined);
  });

  test("withLease does not run the work when the lease is held, and releases after a throw", async () => {
    const leases = new ProcessLeaseProvider();
    const held = await leases.tryAcquire("x");
    assert.ok(held !== undefined);
    let ran = false;
    assert.deepEqual(
      await withLease(leases, "x", () => {
        ran = true;
        return Promise.resolve(1);
      }),
      { acquired: false },
    );
    assert.equal(ran, false);
    await held.release();
    await assert.rejects(
      withLease(leases, "x", () => Promise.reject(new Error("boom"))),
      /boom/,
    );
    assert.ok((await leases.tryAcquire("x")) !== undefined, "released after the throw");
  });
});

describe("blob leases (Azurite)", () => {
  let azurite: Awaited<ReturnType<typeof startAzuriteBlob>>;
  const log = createLogger(() => undefined);
  const noCredential = { getToken: () => Promise.resolve(null) };
  const storage = () => ({ kind: "connection-string" as const, connectionString: azurite.connectionString });

  before(async () => {
    azurite = await startAzuriteBlob();
  });
  after(async () => {
    await azurite.close();
  });

  test("a blob lease excludes another provider until released", async () => {
    const a = new BlobLeaseProvider({ storage: storage(), credential: noCredential, log, renewEveryMs: 50 });
    const b = new BlobLeaseProvider({ storage: storage(), credential: noCredential, log });
    const held = await a.tryAcquire("sweep");
    assert.ok(held !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 120)); // a few real renewals
    assert.equal(held.lost(), false);
    assert.equal(await b.tryAcquire("sweep"), undefined);
    const other = await b.tryAcquire("other");
    assert.ok(other !== undefined);
    await other.release();
    await held.release();
    const next = await b.tryAcquire("sweep");
    assert.ok(next !== undefined);
    await next.release();
  });

  test("without a confirmed renewal, a lease counts as lost before its term runs out", async () => {
    let now = Date.parse("2026-11-20T08:00:00Z");
    // No renewal within the test: the term (30 s, less a 5 s margin) runs on the injected clock.
    const provider = new BlobLeaseProvider({
      storage: storage(),
      credential: noCredential,
      log,
      renewEveryMs: 3_600_000,
      now: () => now,
    });
    const held = await provider.tryAcquire("term");
    assert.ok(held !== undefined);
    now += 25_000;
    assert.equal(held.lost(), false);
    now += 1;
    assert.equal(held.lost(), true);
    await held.release();
  });

  test("a lease whose renewal fails counts as lost, so its holder stops writing", async () => {
    const lines: string[] = [];
    const provider = new BlobLeaseProvider({
      storage: storage(),
      credential: noCredential,
      log: createLogger((l) => lines.push(l)),
      renewEveryMs: 50,
    });
    const held = await provider.tryAcquire("broken");
    assert.ok(held !== undefined);
    // Someone breaks the lease: the next renewal is refused (409) at once, no retries.
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient(LEASE_CONTAINER)
      .getBlockBlobClient("locks/broken");
    await blob.getBlobLeaseClient().breakLease(0);
    const deadline = Date.now() + 10_000;
    while (!held.lost() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(held.lost(), true);
    assert.ok(lines.some((l) => l.includes('"event":"lease.lost"') && l.includes('"lease":"broken"')));
    await held.release();
  });
});
