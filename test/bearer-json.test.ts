import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { sendBearerJson } from "../src/net/bearer-json.js";
import { httpSender } from "../src/net/http-request.js";

class Rejected extends Error {}
class Unavailable extends Error {}
const failures = { rejected: () => new Rejected(), unavailable: () => new Unavailable() };

test("sends the bearer token and a JSON body on the sender, and hands back any status", async () => {
  const seen: { headers: IncomingHttpHeaders; body: string; method?: string }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ headers: req.headers, body, method: req.method });
      res.writeHead(409, { "content-type": "application/json" }).end('{"x":1}');
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/p`;
    const send = httpSender({ devStack: true, timeoutMs: 5000 });
    const res = await sendBearerJson(send, { method: "POST", url, token: "t0k", body: { a: 1 } }, failures);
    assert.equal(res.status, 409);
    assert.equal(seen.at(-1)?.method, "POST");
    assert.equal(seen.at(-1)?.headers.authorization, "Bearer t0k");
    assert.equal(seen.at(-1)?.headers["content-type"], "application/json");
    assert.equal(seen.at(-1)?.body, '{"a":1}');
    await sendBearerJson(send, { method: "GET", url, token: "t0k" }, failures);
    assert.equal(seen.at(-1)?.headers["content-type"], undefined, "no body, no content type");
  } finally {
    server.close();
  }
});

test("the sender's refusal is the client's 'rejected', a dead end its 'unavailable'", async () => {
  // Plain http outside the dev stack is refused before any connection.
  await assert.rejects(
    sendBearerJson(httpSender(), { method: "GET", url: "http://127.0.0.1:9/x", token: "t" }, failures),
    Rejected,
  );
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  await assert.rejects(
    sendBearerJson(
      httpSender({ devStack: true, timeoutMs: 2000 }),
      { method: "GET", url: `http://127.0.0.1:${port}/x`, token: "t" },
      failures,
    ),
    Unavailable,
  );
});

test("anything else (a bug) propagates as it is: never passed off as an outage", async () => {
  const bug = new TypeError("cannot read properties of undefined");
  await assert.rejects(
    sendBearerJson(
      () => Promise.reject(bug),
      { method: "GET", url: "https://x.test/", token: "t" },
      failures,
    ),
    (error) => error === bug,
  );
});
