import { json } from "../route.js";
import type { BrokerResponse } from "../types.js";

/** Liveness only: no configuration, no upstream state that could hint at secrets. */
export function getHealth(): Promise<BrokerResponse> {
  return Promise.resolve(json(200, { status: "ok" }, { "cache-control": "no-store" }));
}
