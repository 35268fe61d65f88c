import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";

/** Azure DevOps' resource id: the audience of an Entra access token for it. */
export const AZURE_DEVOPS_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798";

/**
 * A real git server for tests: `git http-backend` behind a node:http CGI bridge that, like
 * Azure DevOps, takes `Authorization: Basic base64(user + ":" + PAT)` with any user name and,
 * when `entra` is given, an Entra access token for Azure DevOps as `Bearer <token>` or as the
 * Basic password; 401 otherwise. Push is enabled.
 */
export interface GitServer {
  repoUrl: string;
  /** The bare repository the server serves (to check what a push left there). */
  repoDir: string;
  /** The Authorization headers the server accepted, by scheme (what git really sent). */
  accepted: { basicPat: number; basicToken: number; bearerToken: number };
  close(): Promise<void>;
}

export interface GitServerOptions {
  /** Verify Entra tokens against this issuer's JWKS (fetched once, over HTTPS with `ca`). */
  entra?: { jwksUri: string; issuer: string; ca: string };
}

export async function startGitServer(pat: string, options: GitServerOptions = {}): Promise<GitServer> {
  const root = mkdtempSync(path.join(tmpdir(), "token-broker-git-"));
  const work = path.join(root, "work");
  const repoDir = path.join(root, "repo.git");
  execFileSync("git", ["init", "-q", "-b", "main", work]);
  execFileSync("git", [
    "-C",
    work,
    "-c",
    "user.name=t",
    "-c",
    "user.email=t@example.com",
    "commit",
    "-q",
    "--allow-empty",
    "-m",
    "first",
  ]);
  execFileSync("git", ["clone", "-q", "--bare", work, repoDir]);
  execFileSync("git", ["-C", repoDir, "config", "http.receivepack", "true"]);

  const entra = options.entra;
  const keys = entra ? createLocalJWKSet(await fetchJwks(entra.jwksUri, entra.ca)) : undefined;
  const tokenOk = async (token: string) => {
    if (keys === undefined || entra === undefined) return false;
    try {
      await jwtVerify(token, keys, {
        issuer: entra.issuer,
        audience: AZURE_DEVOPS_RESOURCE,
        algorithms: ["RS256"],
      });
      return true;
    } catch {
      return false;
    }
  };
  const accepted = { basicPat: 0, basicToken: 0, bearerToken: 0 };
  const authorized = async (header: string | undefined): Promise<boolean> => {
    const [scheme = "", value = ""] = (header ?? "").split(" ");
    if (/^bearer$/i.test(scheme)) return (await tokenOk(value)) && ++accepted.bearerToken > 0;
    if (!/^basic$/i.test(scheme)) return false;
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const password = decoded.slice(decoded.indexOf(":") + 1);
    if (!decoded.includes(":") || password === "") return false;
    if (password === pat) return ++accepted.basicPat > 0;
    return (await tokenOk(password)) && ++accepted.basicToken > 0;
  };

  const server = http.createServer((req, res) => {
    authorized(req.headers.authorization).then(
      (ok) => (ok ? backend(root, req, res) : unauthorized(res)),
      () => unauthorized(res),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    repoUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo.git`,
    repoDir,
    accepted,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          rmSync(root, { recursive: true, force: true });
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

function unauthorized(res: http.ServerResponse): void {
  res.writeHead(401, { "www-authenticate": 'Basic realm="git"' }).end();
}

/** The request handed to `git http-backend` as CGI, its answer streamed back. */
function backend(root: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://localhost");
  const cgi = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env["PATH"] ?? "",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: url.pathname,
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? "GET",
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      // git compresses larger request bodies; http-backend reads these to undo it.
      HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
      HTTP_GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
      ...(req.headers["content-length"] !== undefined
        ? { CONTENT_LENGTH: req.headers["content-length"] }
        : {}),
      REMOTE_USER: "pat",
      REMOTE_ADDR: "127.0.0.1",
    },
  });
  req.pipe(cgi.stdin);
  let head = Buffer.alloc(0);
  let headersDone = false;
  cgi.stdout.on("data", (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) return;
    headersDone = true;
    let status = 200;
    for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
      const [name = "", ...rest] = line.split(":");
      const value = rest.join(":").trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    res.write(head.subarray(end + 4));
  });
  cgi.on("close", () => res.end());
}

function fetchJwks(uri: string, ca: string): Promise<JSONWebKeySet> {
  return new Promise((resolve, reject) => {
    https
      .get(uri, { ca }, (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (data += c));
        res.on("end", () => {
          try {
            resolve(JSON.parse(data) as JSONWebKeySet);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      })
      .on("error", reject);
  });
}
