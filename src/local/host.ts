import http from "node:http";
import type { AddressInfo } from "node:net";
import { assertHostAccepts } from "../functions/host-rules.js";
import type { Registrations } from "../functions/registrations.js";
import {
  dispatch,
  hostAnswers,
  MAX_BODY_BYTES,
  writesAccessLine,
  type BrokerRequest,
  type BrokerResponse,
  type HttpRoute,
} from "../functions/local-adapter.js";
import { describeError } from "../log.js";
import type { Runtime } from "../runtime.js";
import { scheduleTimer, type TimerClock } from "./timer-schedule.js";

/**
 * The local Functions host: a node:http server that serves the same registration table as
 * Azure (same `api` prefix and route templates) and runs the timers on their NCRONTAB schedules.
 */

export interface LocalHostOptions {
  runtime: Runtime;
  registrations: Registrations;
  port: number;
  host?: string;
  routePrefix?: string;
  /** Tests: the clock the timers wait on (default: the wall clock). */
  timerClock?: TimerClock;
}

export interface LocalHost {
  url: string;
  port: number;
  close: () => Promise<void>;
}

/** Shared by every request without a query string; handlers only read queries. */
const NO_QUERY = new URLSearchParams();

interface CompiledRoute {
  route: HttpRoute;
  pattern: RegExp;
  params: string[];
}

/** Functions route templates: literal segments and `{name}` parameters (constraints ignored). */
export function compileRoute(prefix: string, route: HttpRoute): CompiledRoute {
  const params: string[] = [];
  const segments = [prefix, ...route.route.split("/")].filter((s) => s !== "");
  const source = segments
    .map((segment) => {
      const param = /^\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}$/.exec(segment);
      if (param?.[1] !== undefined) {
        params.push(param[1]);
        return "([^/]+)";
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { route, pattern: new RegExp(`^/${source}/?$`, "i"), params };
}

/** Lower-case names, repeated headers joined; straight from rawHeaders (cheaper than req.headers). */
function headersOf(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const seen = out[key];
    out[key] = seen === undefined ? value : `${seen}, ${value}`;
  }
  return out;
}

/** Like readBodyLimited, with stream events: async iteration of IncomingMessage is slow on the hot path. */
function readIncoming(req: http.IncomingMessage, limit: number): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off("data", onData);
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

/** Decoded `{name}` parameters; undefined when a segment is not valid percent-encoding. */
function routeParams(compiled: CompiledRoute, groups: RegExpExecArray): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  try {
    compiled.params.forEach((p, i) => {
      params[p] = decodeURIComponent(groups[i + 1] ?? "");
    });
  } catch {
    return undefined;
  }
  return params;
}

function send(res: http.ServerResponse, response: BrokerResponse): void {
  const body = response.body ?? "";
  res.writeHead(response.status, { ...response.headers, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const { runtime, registrations } = options;
  // What Azure would refuse must not start here either.
  assertHostAccepts(registrations);
  const prefix = options.routePrefix ?? "api";
  const routes = registrations.http.map((r) => compileRoute(prefix, r));

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const target = req.url ?? "/";
    const queryAt = target.indexOf("?");
    const pathname = queryAt < 0 ? target : target.slice(0, queryAt);
    const query = queryAt < 0 ? NO_QUERY : new URLSearchParams(target.slice(queryAt + 1));
    let name = "(none)";
    let response: BrokerResponse;
    let found: { compiled: CompiledRoute; groups: RegExpExecArray } | undefined;
    for (const compiled of routes) {
      const groups = compiled.pattern.exec(pathname);
      if (groups !== null) {
        found = { compiled, groups };
        break;
      }
    }
    const params = found === undefined ? undefined : routeParams(found.compiled, found.groups);
    if (found === undefined) {
      response = hostAnswers.notFound();
    } else if (params === undefined) {
      response = hostAnswers.badUrl();
      res.setHeader("connection", "close");
    } else {
      const { compiled } = found;
      name = compiled.route.name;
      const headers = headersOf(req);
      const declared = Number(headers["content-length"] ?? "0");
      const body = declared > MAX_BODY_BYTES ? null : await readIncoming(req, MAX_BODY_BYTES);
      const brokerRequest: BrokerRequest = {
        method: req.method ?? "GET",
        path: pathname.slice(prefix.length + 1),
        query,
        rawQuery: queryAt < 0 ? "" : target.slice(queryAt + 1),
        headers,
        params,
        body,
      };
      response = await dispatch(compiled.route, runtime, brokerRequest);
      // An unread oversized body would otherwise be parsed as the next request.
      if (body === null) res.setHeader("connection", "close");
    }
    send(res, response);
    if (!writesAccessLine(found?.compiled.route, req.method ?? "GET")) return;
    runtime.log.info("http.request", {
      method: req.method,
      function: name,
      status: response.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  }

  const server = http.createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      runtime.log.error("http.host_error", { error: describeError(error) });
      if (!res.headersSent) send(res, hostAnswers.internal());
      else res.destroy();
    });
  });
  // Requests Node rejects before routing (oversized headers, bad framing) still get problem+json.
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const { status, title, headers, body = "" } = hostAnswers.clientError(error.code);
    const head = Object.entries({
      ...headers,
      "content-length": String(Buffer.byteLength(body)),
      connection: "close",
    })
      .map(([k, v]) => `${k}: ${v}`)
      .join("\r\n");
    socket.end(`HTTP/1.1 ${status} ${title}\r\n${head}\r\n\r\n${body}`);
  });

  const jobs = registrations.timers.flatMap((timer) => {
    const schedule = timer.schedule(runtime.config);
    if (schedule === undefined) return [];
    return scheduleTimer(
      schedule,
      async () => {
        runtime.log.info("timer.started", { timer: timer.name });
        await timer.handler(runtime, { isPastDue: false });
        runtime.log.info("timer.finished", { timer: timer.name });
      },
      {
        onError: (error: unknown) =>
          runtime.log.error("timer.failed", { timer: timer.name, error: describeError(error) }),
        ...(options.timerClock !== undefined ? { clock: options.timerClock } : {}),
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? "127.0.0.1";
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  // The prober asks the broker through its own HTTP surface: here, this very host.
  runtime.selfUrl ??= url;
  return {
    url,
    port,
    close: async () => {
      for (const job of jobs) job.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
