import http from "node:http";
import { FaultQueue, listen, readText, sendJson } from "./emulator-http.js";

/**
 * A loopback webhook receiver (dev and tests): records every JSON POST by path (`/hook`,
 * `/teams`…), lists a path's last posts on GET, and can be told to fail (`failNext`) or to answer
 * slowly (`delayMs`).
 */

/** GET returns at most this many posts (the newest): enough to read back, bounded for a long-running stack. */
export const READ_BACK_LIMIT = 100;

export interface ReceivedPost {
  path: string;
  body: unknown;
  at: number;
}

export interface WebhookSink {
  url: string;
  /** Accepted posts, in order (failed ones are not recorded: the sender must retry them). */
  received(path?: string): ReceivedPost[];
  stats(): { requests: number; failed: number };
  /** The next `count` posts answer `status`. */
  failNext(status: number, count: number): void;
  /** Every post waits this long before answering (0: none). */
  delayMs(ms: number): void;
  clear(): void;
  close(): Promise<void>;
}

export async function startWebhookSink(options: { host?: string; port?: number } = {}): Promise<WebhookSink> {
  const host = options.host ?? "127.0.0.1";
  const faults = new FaultQueue();
  let delay = 0;
  let requests = 0;
  let failed = 0;
  let posts: ReceivedPost[] = [];

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    // Read-back for people (curl …/hook): the bodies received on that path, newest last.
    if (req.method === "GET") {
      const bodies = posts.filter((p) => p.path === path).map((p) => p.body);
      return sendJson(res, 200, bodies.slice(-READ_BACK_LIMIT));
    }
    if (req.method !== "POST") return sendJson(res, 405, { error: "GET or POST" }, { allow: "GET, POST" });
    requests += 1;
    const text = await readText(req, 256 * 1024);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const fault = faults.take();
    if (fault !== undefined) {
      failed += 1;
      return sendJson(res, fault.status, { error: "injected fault" });
    }
    let body: unknown;
    try {
      body = JSON.parse(text ?? "");
    } catch {
      return sendJson(res, 400, { error: "not JSON" });
    }
    posts.push({ path, body, at: Date.now() });
    // Teams workflows answer 202 Accepted.
    res.writeHead(202, { "content-length": 0 });
    res.end();
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: "internal" });
    });
  });
  const listening = await listen(server, host, options.port ?? 0);
  return {
    url: `http://${host}:${listening.port}`,
    received: (path) => posts.filter((p) => path === undefined || p.path === path),
    stats: () => ({ requests, failed }),
    failNext: (status, count) => faults.add({ status, count }),
    delayMs: (ms) => {
      delay = ms;
    },
    clear: () => {
      posts = [];
      faults.clear();
      delay = 0;
    },
    close: listening.close,
  };
}
