import assert from "node:assert/strict";
import { test } from "node:test";
import { FetchRejectedError, FetchUnavailableError, type HttpSend } from "../src/net/http-request.js";
import { DeliveryError, postJson } from "../src/notices/delivery.js";

const options = (send: HttpSend) => ({ timeoutMs: 1000, tries: 3, backoffMs: 1, send });

function counting(answer: () => Promise<Awaited<ReturnType<HttpSend>>>): {
  send: HttpSend;
  calls: () => number;
} {
  let calls = 0;
  return {
    send: () => {
      calls++;
      return answer();
    },
    calls: () => calls,
  };
}

test("a 2xx is a delivery; a 4xx other than 408/429 is final after one try", async () => {
  const ok = counting(() => Promise.resolve({ status: 202, headers: {}, body: "" }));
  await postJson("https://hook.test/x", { a: 1 }, options(ok.send));
  assert.equal(ok.calls(), 1);
  const refused = counting(() => Promise.resolve({ status: 403, headers: {}, body: "" }));
  await assert.rejects(postJson("https://hook.test/x", {}, options(refused.send)), { reason: "http 403" });
  assert.equal(refused.calls(), 1);
});

test("transport failures are retried and named: unreachable, timeout, refused", async () => {
  const down = counting(() => Promise.reject(new FetchUnavailableError("connect failed")));
  await assert.rejects(postJson("https://hook.test/x", {}, options(down.send)), (e) => {
    assert.ok(e instanceof DeliveryError);
    assert.equal(e.reason, "unreachable");
    return true;
  });
  assert.equal(down.calls(), 3);
  const slow = counting(() => Promise.reject(new FetchUnavailableError("timed out")));
  await assert.rejects(postJson("https://hook.test/x", {}, options(slow.send)), { reason: "timeout" });
  const rejected = counting(() => Promise.reject(new FetchRejectedError("url refused")));
  await assert.rejects(postJson("https://hook.test/x", {}, options(rejected.send)), { reason: "refused" });
});

test("a bug in the transport is not passed off as an unreachable receiver", async () => {
  const bug = new TypeError("cannot read properties of undefined");
  const broken = counting(() => Promise.reject(bug));
  await assert.rejects(postJson("https://hook.test/x", {}, options(broken.send)), (e) => e === bug);
  assert.equal(broken.calls(), 1, "no retries of a bug");
});
