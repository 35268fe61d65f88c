import assert from "node:assert/strict";
import { test } from "node:test";
import { LeaseBusyError, underLease } from "../src/lease/lease-busy.js";
import { ProcessLeaseProvider } from "../src/lease/lease.js";
import { toProblem } from "../src/http/errors.js";
import { createLogger } from "../src/log.js";
import { ROTATION_LEASE } from "../src/rotation/rotation-lease.js";

test("underLease runs the work while the lease is free and releases it afterwards, also on failure", async () => {
  const leases = new ProcessLeaseProvider();
  assert.equal(await underLease(leases, "x", () => Promise.resolve(42)), 42);
  await assert.rejects(
    underLease(leases, "x", () => Promise.reject(new Error("boom"))),
    /boom/,
  );
  const again = await leases.tryAcquire("x");
  assert.ok(again !== undefined, "released after the work, whatever its end");
  await again.release();
});

test("underLease throws LeaseBusyError without running the work while another holds the lease", async () => {
  const leases = new ProcessLeaseProvider();
  const held = await leases.tryAcquire(ROTATION_LEASE);
  assert.ok(held !== undefined);
  let ran = false;
  const busy = await underLease(leases, ROTATION_LEASE, () => {
    ran = true;
    return Promise.resolve();
  }).catch((error: unknown) => error);
  assert.ok(busy instanceof LeaseBusyError);
  assert.equal(busy.code, "lease_busy");
  assert.equal(busy.lease, ROTATION_LEASE);
  assert.equal(ran, false);
  // The holder's lease is untouched: a busy attempt releases nothing.
  assert.equal(await leases.tryAcquire(ROTATION_LEASE), undefined);
  await held.release();
});

test("the HTTP answer to a busy rotation lease is 409 sweep_in_progress with Retry-After", () => {
  const lines: string[] = [];
  const problem = toProblem(
    new LeaseBusyError(ROTATION_LEASE),
    createLogger((l) => lines.push(l)),
  );
  assert.equal(problem.status, 409);
  assert.equal(problem.code, "sweep_in_progress");
  const response = problem.toResponse();
  assert.ok(Number(response.headers["retry-after"]) > 0, JSON.stringify(response.headers));
  assert.deepEqual(lines, [], "an expected refusal, not an unexpected error");
});
