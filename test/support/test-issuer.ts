import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  base64url,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from "jose";

/**
 * A trusted OIDC issuer of the test's own (loopback HTTP, discovery + JWKS), with keys the test
 * holds, so it can forge every kind of bad token against the broker.
 */
export interface TestKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function newKey(
  alg: "RS256" | "ES256" | "PS256" = "RS256",
  kid: string = randomUUID(),
): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

export interface TestIssuer {
  issuer: string;
  key: TestKey;
  /** Keys served in the JWKS (change it to rotate). */
  published: TestKey[];
  /** When false, discovery and JWKS answer 503 (the issuer is "down"). */
  up: boolean;
  jwksRequests: number;
  /** Sent as the JWKS answer's Cache-Control when set. */
  jwksCacheControl: string | undefined;
  sign(claims: JWTPayload, options?: { key?: TestKey; header?: Record<string, unknown> }): Promise<string>;
  /** An RS256 JWS with any header at all (for headers jose refuses to produce). */
  signRaw(header: Record<string, unknown>, claims: JWTPayload): Promise<string>;
  /** Claims of a good token for `audience`. */
  claims(audience: string, extra?: JWTPayload): JWTPayload;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const key = await newKey();
  const state = {
    up: true,
    jwksRequests: 0,
    published: [key],
    cacheControl: undefined as string | undefined,
  };
  let issuer = "";
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (!state.up) {
      res.writeHead(503).end();
      return;
    }
    res.setHeader("content-type", "application/json");
    if (path === "/.well-known/openid-configuration") {
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/.well-known/jwks` }));
    } else if (path === "/.well-known/jwks") {
      state.jwksRequests += 1;
      if (state.cacheControl !== undefined) res.setHeader("cache-control", state.cacheControl);
      res.end(JSON.stringify({ keys: state.published.map((k) => k.publicJwk) }));
    } else {
      res.writeHead(404).end("{}");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const t: TestIssuer = {
    issuer,
    key,
    get published() {
      return state.published;
    },
    set published(keys) {
      state.published = keys;
    },
    get up() {
      return state.up;
    },
    set up(value) {
      state.up = value;
    },
    get jwksCacheControl() {
      return state.cacheControl;
    },
    set jwksCacheControl(value) {
      state.cacheControl = value;
    },
    get jwksRequests() {
      return state.jwksRequests;
    },
    set jwksRequests(n) {
      state.jwksRequests = n;
    },
    async sign(claims, options = {}) {
      const k = options.key ?? key;
      const alg = typeof k.publicJwk.alg === "string" ? k.publicJwk.alg : "RS256";
      return new SignJWT(claims)
        .setProtectedHeader({ alg, typ: "JWT", kid: k.kid, ...options.header })
        .sign(k.privateKey);
    },
    async signRaw(header, claims) {
      const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}`;
      const signature = await crypto.subtle.sign(
        "RSASSA-PKCS1-v1_5",
        key.privateKey,
        new TextEncoder().encode(input),
      );
      return `${input}.${base64url.encode(new Uint8Array(signature))}`;
    },
    claims(audience, extra = {}) {
      const now = Math.floor(Date.now() / 1000);
      return {
        iss: issuer,
        sub: "repo:contoso/app:ref:refs/heads/main",
        aud: audience,
        iat: now,
        nbf: now,
        exp: now + 300,
        ...extra,
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return t;
}
