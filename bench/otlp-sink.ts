import http from "node:http";
import type { AddressInfo } from "node:net";

/** An OTLP/HTTP collector that accepts every export and discards it: metrics on, at no cost of their own. */
export async function discardingCollector(): Promise<{ url: string; exports: () => number; close(): void }> {
  let exports = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      exports += 1;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`,
    exports: () => exports,
    close: () => server.close(),
  };
}
