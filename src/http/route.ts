import type { Runtime } from "../runtime.js";
import type { BrokerRequest, BrokerResponse, HttpMethod } from "./types.js";

export type Handler = (req: BrokerRequest, runtime: Runtime) => Promise<BrokerResponse>;

/** One HTTP function: a route template (Functions syntax, without the `api` prefix) and its methods. */
export interface HttpRoute {
  name: string;
  route: string;
  methods: Partial<Record<HttpMethod, Handler>>;
  /** The handler writes its own audit line per request; the host adds no access line. */
  audited?: boolean;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): BrokerResponse {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(body),
  };
}
