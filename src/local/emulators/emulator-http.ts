import type http from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { jsonOrUndefined } from "../../net/json-text.js";

/** Small pieces shared by the loopback emulators (dev and tests only). */

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export async function readText(req: http.IncomingMessage, limit = 64 * 1024): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export interface Listening {
  port: number;
  close: () => Promise<void>;
}

export async function listen(server: http.Server, host: string, port: number): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Injected failures for tests: the next `count` requests (of `operation`, when a fault names one)
 * answer the fault. Shared by every emulator, so each injects faults the same way.
 */
export interface Fault {
  status: number;
  count: number;
  retryAfterSeconds?: number;
  operation?: string;
}

export class FaultQueue<F extends { count: number; operation?: string | undefined } = Fault> {
  private faults: F[] = [];

  add(fault: F): void {
    this.faults.push({ ...fault });
  }

  clear(): void {
    this.faults = [];
  }

  take(operation?: string): F | undefined {
    const index = this.faults.findIndex((f) => f.operation === undefined || f.operation === operation);
    const fault = this.faults[index];
    if (fault === undefined) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) this.faults.splice(index, 1);
    return fault;
  }
}

/** A fault for emulators whose faults name no operation: the next `count` requests answer `status`. */
export const plainFaultSchema = z.strictObject({
  status: z.number().int().min(400).max(599),
  count: z.number().int().min(1).max(1000),
});

export interface ControlRoutes<F extends { count: number; operation?: string | undefined }> {
  stats: () => unknown;
  resetStats?: () => void;
  faults: FaultQueue<F>;
  faultSchema: z.ZodType<F>;
}

/**
 * The test-control routes every emulator serves under `/_emulator/`: `GET stats`,
 * `POST stats/reset`, `POST faults` (a fault checked by the emulator's schema). True when the path
 * was a control path and has been answered.
 */
export async function serveControl<F extends { count: number; operation?: string | undefined }>(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  control: ControlRoutes<F>,
): Promise<boolean> {
  if (!path.startsWith("/_emulator/")) return false;
  if (path === "/_emulator/stats" && req.method === "GET") {
    sendJson(res, 200, control.stats());
  } else if (path === "/_emulator/stats/reset" && req.method === "POST" && control.resetStats !== undefined) {
    control.resetStats();
    res.writeHead(204).end();
  } else if (path === "/_emulator/faults" && req.method === "POST") {
    const parsed = control.faultSchema.safeParse(jsonOrUndefined(await readText(req, 4096)));
    if (!parsed.success) {
      sendJson(res, 400, { error: { code: "BadRequest", message: "Invalid fault." } });
    } else {
      control.faults.add(parsed.data);
      res.writeHead(204).end();
    }
  } else {
    sendJson(res, 404, { error: { code: "NotFound", message: "Unknown emulator control path." } });
  }
  return true;
}

/**
 * A JSON request body checked by `schema`; undefined when it is too large, not JSON or refused,
 * so each emulator answers in its own service's error shape.
 */
export async function readJsonBody<T extends z.ZodType>(
  req: http.IncomingMessage,
  schema: T,
  limit = 16 * 1024,
): Promise<z.output<T> | undefined> {
  const parsed = schema.safeParse(jsonOrUndefined(await readText(req, limit)));
  return parsed.success ? parsed.data : undefined;
}

/** The fault fields of emulators whose faults may name an operation and ask for a Retry-After. */
export function operationFaultShape<const Op extends readonly [string, ...string[]]>(operations: Op) {
  return {
    status: z.union([z.literal(401), z.literal(403), z.literal(429), z.literal(500), z.literal(503)]),
    count: z.number().int().min(1).max(1000),
    retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
    operation: z.enum(operations).optional(),
  };
}

/** Requests counted by operation, as an emulator's stats hook and `GET /_emulator/stats` show them. */
export class OperationStats<Op extends string> {
  private counts = { requests: 0, byOperation: {} as Partial<Record<Op, number>> };

  count(op: Op): void {
    this.counts.requests += 1;
    this.counts.byOperation[op] = (this.counts.byOperation[op] ?? 0) + 1;
  }

  /** A copy: what a test read does not change under it with later requests. */
  snapshot(): { requests: number; byOperation: Partial<Record<Op, number>> } {
    return { requests: this.counts.requests, byOperation: { ...this.counts.byOperation } };
  }

  reset(): void {
    this.counts = { requests: 0, byOperation: {} };
  }
}
