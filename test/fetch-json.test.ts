import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FetchRejectedError, FetchUnavailableError, fetchJson, getJson } from "../src/net/fetch-json.js";
import type { HttpRequest, HttpSend } from "../src/net/http-request.js";

const URL_ = "https://login.example/tenant/discovery/v2.0/keys";

/** The network port, answering one fixed response and recording the request. */
function answering(status: number, body: string, headers: Record<string, string> = {}) {
  const sent: HttpRequest[] = [];
  const send: HttpSend = (request) => {
    sent.push(request);
    return Promise.resolve({ status, headers, body });
  };
  return { sent, send };
}

describe("getJson / fetchJson", () => {
  test("a 200 with JSON: the body and the headers; one GET bounded by the deadline", async () => {
    const { sent, send } = answering(200, '{"keys":[]}', { "cache-control": "max-age=60" });
    assert.deepEqual(await getJson(URL_, { send, timeoutMs: 1234 }), {
      body: { keys: [] },
      headers: { "cache-control": "max-age=60" },
    });
    assert.deepEqual(sent, [{ method: "GET", url: URL_, timeoutMs: 1234 }]);
    assert.deepEqual(await fetchJson(URL_, { send }), { keys: [] });
  });

  test("what may pass (5xx, 429) is unavailable; other statuses and non-JSON are rejected", async () => {
    for (const status of [500, 503, 429]) {
      await assert.rejects(getJson(URL_, answering(status, "{}")), FetchUnavailableError, String(status));
    }
    for (const status of [204, 301, 400, 404]) {
      await assert.rejects(getJson(URL_, answering(status, "{}")), FetchRejectedError, String(status));
    }
    await assert.rejects(getJson(URL_, answering(200, "<html>")), /response is not JSON/);
  });

  test("the error names the status only, not the answer", async () => {
    await assert.rejects(
      getJson(URL_, answering(400, '{"error":"secret-echo"}')),
      (e: unknown) => e instanceof FetchRejectedError && e.message === "status 400",
    );
  });
});
