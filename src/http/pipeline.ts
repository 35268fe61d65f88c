import type { z } from "zod";
import type { Principal } from "../auth/principal.js";
import type { RateClass } from "../limits/rate-limiter.js";
import type { Runtime } from "../runtime.js";
import { audited } from "./audited.js";
import { parseQuery } from "./query.js";
import {
  mediaTypeOf,
  memoisedJsonBody,
  parseFormBody,
  parseJsonBody,
  type BodyMediaType,
} from "./request-body.js";
import type {
  CallerHandler,
  Handler,
  MethodDeclaration,
  RouteHandler,
  RouteInput,
  SelfAuditedHandler,
} from "./route.js";
import type { BrokerRequest, BrokerResponse } from "./types.js";

/**
 * A declared method -> the handler the hosts call: its query and body parsed with exactly the
 * declared schemas (so OpenAPI, built from the same declaration, documents what is parsed),
 * and, for a route that needs an app role, the role check and the audit line (audited.ts).
 * Loaded with the first call, like the handlers.
 */

type Parse = (req: BrokerRequest) => unknown;

function queryParser(schema: z.ZodType): Parse {
  // Most requests have no query: its value is worked out once.
  let empty: { value: unknown } | undefined;
  return (req) => {
    if (req.query.size === 0 && (req.rawQuery === undefined || req.rawQuery === "")) {
      if (empty === undefined) {
        const result = schema.safeParse({});
        if (result.success) empty = { value: result.data };
      }
      if (empty !== undefined) return empty.value;
    }
    return parseQuery(req, schema);
  };
}

function bodyParser(declaration: MethodDeclaration): Parse {
  const bodies = declaration.body ?? {};
  const types = Object.keys(bodies) as BodyMediaType[];
  if (types.length === 0) return () => undefined;
  const parsers = new Map<BodyMediaType, Parse>();
  for (const type of types) {
    const schema = bodies[type] as z.ZodType;
    parsers.set(
      type,
      type === "application/x-www-form-urlencoded"
        ? (req) => parseFormBody(req, schema)
        : declaration.memoiseBody === true
          ? memoisedJsonBody(schema)
          : (req) => parseJsonBody(req, schema),
    );
  }
  return (req) => {
    const type = mediaTypeOf(req, types);
    return { type, value: (parsers.get(type) as Parse)(req) };
  };
}

export function inputParser(declaration: MethodDeclaration): (req: BrokerRequest) => RouteInput {
  const query = queryParser(declaration.query);
  const body = bodyParser(declaration);
  return (req) => ({ headers: req.headers, params: req.params, query: query(req), body: body(req) });
}

/**
 * The verified caller's part of a role or caller route: its token spent first (once it has the
 * role, before the body is parsed: a malformed write costs a token too), then the handler.
 */
function withCaller(
  input: (req: BrokerRequest) => RouteInput,
  run: CallerHandler,
  limit: RateClass | undefined,
): (req: BrokerRequest, rt: Runtime, caller: Principal) => Promise<BrokerResponse> {
  if (limit === undefined) return (req, rt, caller) => run(input(req), rt, caller);
  return (req, rt, caller) => {
    rt.limiter.admit(limit, caller);
    return run(input(req), rt, caller);
  };
}

export function compile(
  declaration: MethodDeclaration,
  handler: RouteHandler<never, never> | SelfAuditedHandler<never, never> | CallerHandler<never, never>,
): Handler {
  const input = inputParser(declaration);
  switch (declaration.access) {
    case "public": {
      const run = handler as RouteHandler;
      return (req, rt: Runtime) => run(input(req), rt);
    }
    case "granted": {
      // It authenticates inside its own audit scope, so it spends the caller's token itself.
      const run = handler as SelfAuditedHandler;
      const limit = declaration.rateLimit;
      return (req, rt) => run(req, rt, () => input(req), limit);
    }
    case "authenticated": {
      const { event, action } = declaration.audit;
      return audited(
        event,
        action,
        "authenticated",
        withCaller(input, handler as CallerHandler, declaration.rateLimit),
      );
    }
    default: {
      // Role routes get the caller too (who made a credential, for its owner's notice).
      const { event, action } = declaration.audit;
      return audited(
        event,
        action,
        declaration.access,
        withCaller(input, handler as CallerHandler, declaration.rateLimit),
      );
    }
  }
}
