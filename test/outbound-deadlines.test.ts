import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { DevOpsError } from "../src/devops/devops-error.js";
import { PatLifecycleClient } from "../src/devops/pat-lifecycle-client.js";
import { RotatorIdentity, RotatorIdentityError } from "../src/devops/rotator-identity.js";
import { ApplicationPasswordsClient } from "../src/graph/application-passwords-client.js";
import { GraphError } from "../src/graph/graph-error.js";
import { MANAGED_BY, TAG } from "../src/inventory/managed-credential.js";
import { FetchRejectedError, FetchUnavailableError, httpSender } from "../src/net/http-request.js";
import { postJson } from "../src/notices/delivery.js";
import type { SecretStore } from "../src/vault/secret-store.js";
import { startTestStack, writePolicy, type TestStack } from "./support/dev-stack.js";
import { startTestIssuer, type TestIssuer } from "./support/test-issuer.js";
import { startTrickleServer, type TrickleServer } from "./support/trickle-server.js";

const AUD = "api://token-broker-trickle";
const ADO = "499b84ac-1321-427f-aa17-267ca6975798";

/** Generous bound for a busy 2-core box; the trickling bodies would take minutes. */
const WITHIN = 5000;

describe("a total deadline on every outbound exchange", () => {
  let trickle: TrickleServer;
  before(async () => {
    trickle = await startTrickleServer(40);
  });
  after(() => trickle.close());

  test("httpSender: a body trickled byte by byte is cut off at the deadline, the socket closed", async () => {
    const send = httpSender({ timeoutMs: 300, devStack: true });
    const started = Date.now();
    await assert.rejects(send({ method: "GET", url: `${trickle.url}/x` }), (e: unknown) => {
      assert.ok(e instanceof FetchUnavailableError);
      assert.equal(e.message, "timed out");
      return true;
    });
    assert.ok(Date.now() - started < WITHIN);
    // A per-request deadline below the sender's wins (a shared fetch's remaining budget).
    const slowSender = httpSender({ timeoutMs: 60_000, devStack: true });
    await assert.rejects(
      slowSender({ method: "GET", url: `${trickle.url}/y`, timeoutMs: 200 }),
      FetchUnavailableError,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(trickle.abandoned >= 2, "the client hung up");
  });

  test("httpSender: an answer over the body cap is refused, not buffered", async () => {
    const big = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(`"${"x".repeat(64 * 1024)}"`);
    });
    await new Promise<void>((resolve) => big.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(big.address() as AddressInfo).port}/big`;
    try {
      await assert.rejects(
        httpSender({ maxBytes: 1024, devStack: true })({ method: "GET", url }),
        (e: unknown) => {
          assert.ok(e instanceof FetchRejectedError);
          assert.equal(e.message, "response too large");
          return true;
        },
      );
      // Control: under the cap it is read whole.
      const ok = await httpSender({ maxBytes: 128 * 1024, devStack: true })({ method: "GET", url });
      assert.equal(ok.body.length, 64 * 1024 + 2);
    } finally {
      big.close();
    }
  });

  test("an upstream client (PAT Lifecycle API) gives up within the deadline, as unavailable", async () => {
    const client = new PatLifecycleClient({
      baseUrl: trickle.url,
      accessToken: () => Promise.resolve("token"),
      send: httpSender({ timeoutMs: 300, devStack: true }),
    });
    const started = Date.now();
    await assert.rejects(client.get("contoso", "6a1f6f4e-7c0b-4b8e-9d59-0c1d7c9f0a11"), (e: unknown) => {
      assert.ok(e instanceof DevOpsError);
      assert.equal(e.reason.kind, "unavailable");
      return true;
    });
    assert.ok(Date.now() - started < WITHIN);
  });

  test("Graph (application passwords) gives up within the sender's deadline, as unavailable", async () => {
    const client = new ApplicationPasswordsClient({
      baseUrl: trickle.url,
      credential: {
        getToken: () => Promise.resolve({ token: "t", expiresOnTimestamp: Date.now() + 3600_000 }),
      },
      send: httpSender({ timeoutMs: 300, devStack: true }),
    });
    const started = Date.now();
    await assert.rejects(client.listPasswords("6a1f6f4e-7c0b-4b8e-9d59-0c1d7c9f0a12"), (e: unknown) => {
      assert.ok(e instanceof GraphError);
      assert.equal(e.reason.kind, "unavailable");
      return true;
    });
    assert.ok(Date.now() - started < WITHIN);
  });

  test("refresh-token redemption rides the sender it is given: deadline, and its URL rules", async () => {
    // The vault's side of a grant, as Key Vault would answer; the rest of the port is not reached.
    const unused = () => Promise.reject(new Error("not used by a redemption"));
    const store: SecretStore = {
      getSecret: (name) =>
        Promise.resolve({
          name,
          value: "refresh-token-value",
          version: "1",
          contentType: undefined,
          expiresOn: undefined,
          tags: { [TAG.managedBy]: MANAGED_BY, [TAG.kind]: "refresh-token", [TAG.clientId]: ADO },
        }),
      getProperties: unused,
      listPage: unused,
      isOwnContinuation: () => false,
      listVersions: unused,
      setSecret: unused,
      updateProperties: unused,
      deleteSecret: unused,
      getDeletedProperties: unused,
      recoverDeleted: unused,
    };
    const identity = (send: ReturnType<typeof httpSender>) =>
      new RotatorIdentity({ store, authorityHost: trickle.url, tenantId: "contoso", send });
    const before = trickle.requests;
    const started = Date.now();
    await assert.rejects(identity(httpSender({ timeoutMs: 300, devStack: true })).accessToken("grant"), {
      reason: "unavailable",
    });
    assert.ok(Date.now() - started < WITHIN);
    assert.equal(trickle.requests, before + 1, "the token endpoint was asked once");
    // Outside the dev stack a loopback authority is refused unsent.
    await assert.rejects(identity(httpSender()).accessToken("grant"), RotatorIdentityError);
    assert.equal(trickle.requests, before + 1);
  });

  test("notice delivery rides the same sender: deadline per try, and its URL rules", async () => {
    const options = { timeoutMs: 200, tries: 2, backoffMs: 10, send: httpSender({ devStack: true }) };
    await assert.rejects(postJson(`${trickle.url}/hook`, { a: 1 }, options), { reason: "timeout" });
    // Outside the dev stack a loopback receiver is refused unsent.
    const before = trickle.requests;
    await assert.rejects(postJson(`${trickle.url}/hook`, { a: 1 }, { ...options, send: httpSender() }), {
      reason: "refused",
    });
    assert.equal(trickle.requests, before);
  });

  test("outside the dev stack plain http and loopback targets are refused, unsent", async () => {
    const before = trickle.requests;
    for (const url of [`${trickle.url}/x`, "https://127.0.0.1:1/x", "http://example.com/x"]) {
      await assert.rejects(httpSender()({ method: "GET", url }), (e: unknown) => {
        assert.ok(e instanceof FetchRejectedError);
        assert.match(e.message, /not https to a non-loopback host \(BROKER_DEV_STACK is not set\)/);
        return true;
      });
    }
    assert.equal(trickle.requests, before);
  });
});

describe("a trickling issuer through the broker", () => {
  let stack: TestStack;
  let issuer: TestIssuer;
  let trickle: TrickleServer;

  before(async () => {
    issuer = await startTestIssuer();
    trickle = await startTrickleServer(40);
    const policy = writePolicy({
      profiles: {
        "ci-ado": { kind: "entra", scope: `${ADO}/.default`, credential: { type: "managed-identity" } },
      },
      grants: [
        { match: { iss: trickle.url, sub: "repo:contoso/app:ref:refs/heads/main" }, profiles: ["ci-ado"] },
      ],
    });
    stack = await startTestStack(
      {
        BROKER_POLICY_FILE: policy,
        // The issuer's keys are served from the trickling server.
        BROKER_TRUSTED_ISSUERS: JSON.stringify([
          { issuer: trickle.url, jwksUri: `${trickle.url}/keys`, audiences: [AUD] },
        ]),
      },
      { outboundTimeoutMs: 300 },
    );
  });

  after(async () => {
    await stack.close();
    await issuer.close();
    await trickle.close();
  });

  test("every waiting caller gets 503 issuer_unavailable within the deadline", async () => {
    const token = await issuer.sign({ ...issuer.claims(AUD), iss: trickle.url });
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => stack.token(token, { profile: "ci-ado" })),
    );
    const elapsed = Date.now() - started;
    for (const res of answers) {
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      assert.equal(((await res.json()) as { code: string }).code, "issuer_unavailable");
    }
    assert.equal(trickle.requests, 1, "one shared key fetch");
    assert.ok(elapsed < WITHIN, `took ${elapsed} ms`);
    // Health does not wait on it.
    assert.equal((await stack.api("/health")).status, 200);
  });
});
