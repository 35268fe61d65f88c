import type { z } from "zod";
import type { Principal } from "../auth/principal.js";
import type { RateClass } from "../limits/rate-limiter.js";
import type { Runtime } from "../runtime.js";
import type { BodyMediaType } from "./request-body.js";
import type { Role } from "./roles.js";
import type { BrokerRequest, BrokerResponse, HttpMethod } from "./types.js";

/**
 * One declaration per route and method, read by everything that needs to know about a route:
 *
 *   registrations.ts (the table: routes, and per method a MethodDeclaration made by method())
 *     ├─> pipeline.ts  compile(): parses query and body with the declared schemas, checks the role
 *     │                and writes the audit line (audited.ts), then calls the handler with values
 *     ├─> handlers/openapi.ts  openApiDocument(table): parameters, bodies, roles and summaries
 *     └─> the hosts: dispatch() calls `run`; the local host writes an access line only for a
 *                    method that writes no audit line of its own (writesAudit)
 *
 * Nothing here or in the table imports a handler, the pipeline or the OpenAPI builder eagerly
 * (cold start), and the table hands itself to the OpenAPI handler rather than being imported by it.
 */

export type Handler = (req: BrokerRequest, runtime: Runtime) => Promise<BrokerResponse>;

/** Request bodies a method accepts, by media type (415 for any other). */
export type Bodies = Partial<Record<BodyMediaType, z.ZodType>>;

/** The parsed body: which media type came, and its value; undefined for a method without bodies. */
export type BodyOf<B extends Bodies | undefined> = B extends Bodies
  ? { [K in keyof B & BodyMediaType]: { type: K; value: z.output<NonNullable<B[K]>> } }[keyof B &
      BodyMediaType]
  : undefined;

/** What a handler gets: the declared query and body, parsed; no raw query or body to parse otherwise. */
export interface RouteInput<Q = unknown, B = unknown> {
  headers: Readonly<Record<string, string>>;
  params: Readonly<Record<string, string>>;
  query: Q;
  body: B;
}

export type RouteHandler<Q = unknown, B = unknown> = (
  input: RouteInput<Q, B>,
  rt: Runtime,
) => Promise<BrokerResponse>;

/** A handler of a route any verified caller may call: it gets that caller (the pipeline audits it). */
export type CallerHandler<Q = unknown, B = unknown> = (
  input: RouteInput<Q, B>,
  rt: Runtime,
  caller: Principal,
) => Promise<BrokerResponse>;

/**
 * A handler that writes its own audit line (the token route: its lines name the issued credential):
 * it calls `input()` inside its audit scope, so a request refused while parsing is audited too.
 */
export type SelfAuditedHandler<Q = unknown, B = unknown> = (
  head: Pick<BrokerRequest, "headers" | "params">,
  rt: Runtime,
  input: () => RouteInput<Q, B>,
  /** The declared rate class: the handler spends a token once it knows the verified caller. */
  rateLimit?: RateClass,
) => Promise<BrokerResponse>;

export type AuditEvent = "audit.token" | "audit.inventory" | "audit.admin" | "audit.caller";
/** The line audited.ts writes per call of a route that needs an app role. */
export interface RoleAudit {
  event: "audit.inventory" | "audit.admin";
  action: string;
}
/** The line audited.ts writes per call of a route any verified caller may call. */
export interface CallerAudit {
  event: "audit.caller";
  action: string;
}

interface Common<Q extends z.ZodType, B extends Bodies | undefined> {
  summary: string;
  /** Every query parameter the method reads; any other is refused (400). */
  query: Q;
  body?: B;
  /** Bodies that are small, repeat and hold no secret: a validated text's value is reused. */
  memoiseBody?: true;
}

/**
 * Which per-caller token buckets a method spends from (BROKER_RATE_LIMIT, BROKER_ADMIN_RATE_LIMIT):
 * one token per request of a verified caller (with the route's role), before the handler runs;
 * over the limit, 429 `rate_limited` with Retry-After. Only methods with a verified caller have it.
 */
interface Limited {
  rateLimit?: RateClass;
}

type Lazy<T> = () => Promise<T>;

export type MethodSpec<Q extends z.ZodType, B extends Bodies | undefined> = Common<Q, B> &
  (
    | (Limited & { access: Role; audit: RoleAudit; handler: Lazy<CallerHandler<z.output<Q>, BodyOf<B>>> })
    /** Any verified caller; the handler checks what the policy grants and writes the audit line. */
    | (Limited & {
        access: "granted";
        audit: { event: "audit.token" };
        handler: Lazy<SelfAuditedHandler<z.output<Q>, BodyOf<B>>>;
      })
    /** Any verified caller, no role needed; the pipeline authenticates, audits and hands the caller on. */
    | (Limited & {
        access: "authenticated";
        audit: CallerAudit;
        handler: Lazy<CallerHandler<z.output<Q>, BodyOf<B>>>;
      })
    | {
        access: "public";
        audit?: undefined;
        rateLimit?: undefined;
        handler: Lazy<RouteHandler<z.output<Q>, BodyOf<B>>>;
      }
  );

/** A declared method, its types erased: what the pipeline, OpenAPI and the hosts read. */
export type MethodDeclaration = Common<z.ZodType, Bodies> &
  (
    | (Limited & { access: Role; audit: RoleAudit; handler: Lazy<RouteHandler<never, never>> })
    | (Limited & {
        access: "granted";
        audit: { event: "audit.token" };
        handler: Lazy<SelfAuditedHandler<never, never>>;
      })
    | (Limited & { access: "authenticated"; audit: CallerAudit; handler: Lazy<CallerHandler<never, never>> })
    | {
        access: "public";
        audit?: undefined;
        rateLimit?: undefined;
        handler: Lazy<RouteHandler<never, never>>;
      }
  ) & {
    /** The compiled method: parse, role, audit, handler; loads the handler at its first call. */
    run: Handler;
  };

/** One HTTP function: a route template (Functions syntax, without the `api` prefix) and its methods. */
export interface HttpRoute {
  name: string;
  route: string;
  methods: Partial<Record<HttpMethod, MethodDeclaration>>;
}

/** Whether the method writes an audit line per request (then the host adds no access line). */
export function writesAudit(route: HttpRoute, method: string): boolean {
  return route.methods[method.toUpperCase() as HttpMethod]?.audit !== undefined;
}

/** A handler of a module loaded at its first use: `handler: from(load, "name")`. */
export function from<M, K extends keyof M>(load: () => Promise<M>, name: K): () => Promise<M[K]> {
  return () => load().then((m) => m[name]);
}

/** Declares a method; the pipeline and the handler load at its first call, then it is a plain call. */
export function method<Q extends z.ZodType, B extends Bodies | undefined = undefined>(
  spec: MethodSpec<Q, B>,
): MethodDeclaration {
  const declaration = spec as unknown as MethodDeclaration;
  let compiled: Handler | undefined;
  const run: Handler = (req, rt) =>
    compiled !== undefined
      ? compiled(req, rt)
      : Promise.all([import("./pipeline.js"), declaration.handler()]).then(([pipeline, handler]) => {
          compiled = pipeline.compile(declaration, handler);
          return compiled(req, rt);
        });
  return { ...declaration, run };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): BrokerResponse {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(body),
  };
}
