import { dispatch } from "../http/dispatch.js";
import { problems } from "../http/problem.js";
import { writesAudit, type HttpRoute } from "../http/route.js";
import { MAX_BODY_BYTES, type BrokerRequest, type BrokerResponse } from "../http/types.js";

/**
 * What the local host (src/local/host.ts) needs of the HTTP layer, as azure-adapter.ts is for the
 * Functions host: the dispatcher, the answers a host gives before any route runs, and whether a
 * request gets an access line. The local host imports src/functions/ only.
 */

export { dispatch, MAX_BODY_BYTES, type BrokerRequest, type BrokerResponse, type HttpRoute };

/** The host writes an access line for a request unless its method writes an audit line itself. */
export function writesAccessLine(route: HttpRoute | undefined, method: string): boolean {
  return route === undefined || !writesAudit(route, method);
}

/** Answers of the host itself, problem+json like every other. */
export const hostAnswers = {
  notFound: (): BrokerResponse => problems.notFound().toResponse(),
  badUrl: (): BrokerResponse => problems.badRequest("The URL is not valid percent-encoding.").toResponse(),
  internal: (): BrokerResponse => problems.internal().toResponse(),
  /** Requests Node refuses before routing: oversized headers (431), else bad framing (400). */
  clientError: (code: string | undefined): BrokerResponse & { title: string } => {
    const problem =
      code === "HPE_HEADER_OVERFLOW"
        ? problems.headersTooLarge()
        : problems.badRequest("Malformed HTTP request.");
    return { ...problem.toResponse(), title: problem.title };
  },
};
