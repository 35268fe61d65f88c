import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback HTTP server that answers 200 at once and then sends its body one byte every
 * `intervalMs`: never idle long enough for a socket idle timeout, far slower than any deadline.
 */
export interface TrickleServer {
  url: string;
  /** Requests received so far. */
  requests: number;
  /** Connections the client gave up on before the body was complete. */
  abandoned: number;
  close(): Promise<void>;
}

export async function startTrickleServer(
  intervalMs = 50,
  body = `{"keys":[]}${" ".repeat(4000)}`,
): Promise<TrickleServer> {
  const state = { requests: 0, abandoned: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    state.requests += 1;
    req.resume();
    res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent >= body.length) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write(body[sent]);
      sent += 1;
    }, intervalMs);
    timers.add(timer);
    res.on("close", () => {
      clearInterval(timer);
      timers.delete(timer);
      if (sent < body.length) state.abandoned += 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return state.requests;
    },
    get abandoned() {
      return state.abandoned;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
