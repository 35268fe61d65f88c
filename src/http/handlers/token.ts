import { z } from "zod";
import { Authenticator } from "../../auth/authenticator.js";
import { auditIdentity, type Principal } from "../../auth/principal.js";
import type { IssuedCredential } from "../../issuance/credential-issuer.js";
import type { Runtime } from "../../runtime.js";
import { prepareFields, type PreparedFields } from "../../log.js";
import type { Entitlements } from "../../policy/policy.js";
import { auditOutcome, toProblem } from "../errors.js";
import { problems } from "../problem.js";
import { mediaTypeOf, memoisedJsonBody, parseFormBody } from "../request-body.js";
import type { BrokerRequest, BrokerResponse } from "../types.js";

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt";
const TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";
/** RFC 8693 lets a server name its own types; a PAT is neither an OAuth token nor a JWT. */
const TYPE_PAT = "urn:token-broker:token-type:azure-devops-pat";

const profileName = z.string().min(1).max(128);

export const tokenJsonRequest = z.strictObject({ profile: profileName });
const readJsonRequest = memoisedJsonBody(tokenJsonRequest);

export const exchangeRequest = z.strictObject({
  grant_type: z.literal(TOKEN_EXCHANGE),
  subject_token: z.string().min(1),
  subject_token_type: z.enum([TYPE_JWT, TYPE_ACCESS_TOKEN]),
  audience: profileName,
  requested_token_type: z.literal(TYPE_ACCESS_TOKEN).optional(),
});

interface TokenRequest {
  profile: string;
  token: string;
  exchange: boolean;
}

function readRequest(req: BrokerRequest): TokenRequest {
  const type = mediaTypeOf(req, ["application/json", "application/x-www-form-urlencoded"]);
  if (type === "application/json") {
    const body = readJsonRequest(req);
    return {
      profile: body.profile,
      token: Authenticator.bearerToken(req.headers["authorization"]),
      exchange: false,
    };
  }
  const form = parseFormBody(req, exchangeRequest);
  // The subject token is the caller's credential; a second, different one in the header is ambiguous.
  const header = req.headers["authorization"];
  if (header !== undefined && Authenticator.bearerToken(header) !== form.subject_token) {
    throw problems.badRequest("Send the caller token either as subject_token or in Authorization, not both.");
  }
  return { profile: form.audience, token: form.subject_token, exchange: true };
}

/** The serialised answer changes once a second (expires_in): built once per credential and second. */
const answers = new WeakMap<IssuedCredential, { key: string; body: string }>();

function answer(issued: IssuedCredential, exchange: boolean, now: number): BrokerResponse {
  const key = `${Math.floor(now / 1000)}:${exchange ? "x" : "j"}`;
  let cached = answers.get(issued);
  if (cached?.key !== key) {
    cached = { key, body: serialiseAnswer(issued, exchange, now) };
    answers.set(issued, cached);
  }
  return {
    status: 200,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      pragma: "no-cache",
    },
    body: cached.body,
  };
}

function serialiseAnswer(issued: IssuedCredential, exchange: boolean, now: number): string {
  const body: Record<string, unknown> = {
    access_token: issued.token,
    token_type: issued.tokenType,
    expires_in: Math.max(0, Math.floor((issued.expiresOn.getTime() - now) / 1000)),
    expires_on: issued.expiresOn.toISOString(),
    profile: issued.profile,
    authorization: issued.authorization,
  };
  if (exchange) body["issued_token_type"] = issued.kind === "pat" ? TYPE_PAT : TYPE_ACCESS_TOKEN;
  return JSON.stringify(body);
}

/** Caller-chosen text in the audit trail only when it has the shape of a profile name. */
const loggableProfile = (name: string | undefined) =>
  name !== undefined && /^[A-Za-z0-9._-]{1,64}$/.test(name) ? name : undefined;

/**
 * Verified principals are cached objects (one per caller token), and the policy is fixed for the
 * process: what they are granted and how they are audited is worked out once per token.
 */
const perPrincipal = new WeakMap<Principal, { entitlements: Entitlements; caller: Record<string, string> }>();

function derived(rt: Runtime, principal: Principal) {
  let d = perPrincipal.get(principal);
  if (d === undefined) {
    d = { entitlements: rt.policy.entitlements(principal), caller: auditIdentity(principal) };
    perPrincipal.set(principal, d);
  }
  return d;
}
const entitlementsOf = (rt: Runtime, p: Principal) => derived(rt, p).entitlements;

/** The issued-audit fields repeat for the same caller and credential: prepared once per pair. */
const issuedAudits = new WeakMap<Principal, WeakMap<IssuedCredential, PreparedFields>>();

function issuedAudit(rt: Runtime, principal: Principal, issued: IssuedCredential): PreparedFields {
  let byCredential = issuedAudits.get(principal);
  if (byCredential === undefined) {
    byCredential = new WeakMap();
    issuedAudits.set(principal, byCredential);
  }
  let fields = byCredential.get(issued);
  if (fields === undefined) {
    fields = prepareFields({
      outcome: "issued",
      caller: derived(rt, principal).caller,
      profile: issued.profile,
      kind: issued.kind,
      expiresOn: issued.expiresOn.toISOString(),
      fingerprint: issued.fingerprint,
    });
    byCredential.set(issued, fields);
  }
  return fields;
}

/** `POST /api/token`: one credential for one profile the caller is granted. */
export async function postToken(req: BrokerRequest, rt: Runtime): Promise<BrokerResponse> {
  let request: TokenRequest | undefined;
  let principal: Principal | undefined;
  try {
    request = readRequest(req);
    // Warm path: both caches answer synchronously, with no await in between.
    principal =
      rt.authenticator.cached(request.token) ?? (await rt.authenticator.authenticate(request.token));
    const profile = rt.policy.profile(request.profile);
    if (profile === undefined || !entitlementsOf(rt, principal).profiles.has(request.profile)) {
      throw problems.profileNotGranted();
    }
    const issued =
      rt.issuer.cached(request.profile, profile) ?? (await rt.issuer.issue(request.profile, profile));
    rt.log.infoPrepared("audit.token", issuedAudit(rt, principal, issued));
    return answer(issued, request.exchange, rt.now());
  } catch (error) {
    const problem = toProblem(error, rt.log);
    const outcome = auditOutcome(problem);
    rt.log[outcome === "failed" ? "error" : "info"]("audit.token", {
      outcome,
      code: problem.code,
      status: problem.status,
      ...(principal !== undefined ? { caller: auditIdentity(principal) } : {}),
      profile: loggableProfile(request?.profile),
    });
    // OAuth clients of the exchange form read RFC 6749 §5.2 `error`; the problem carries it too.
    const form = (req.headers["content-type"] ?? "")
      .toLowerCase()
      .startsWith("application/x-www-form-urlencoded");
    throw form ? problem.with({ error: oauthError(problem.status) }) : problem;
  }
}

/** RFC 8693 §2.2.2: a bad subject token is invalid_request; an unknown audience invalid_target. */
function oauthError(status: number): string {
  if (status === 403) return "invalid_target";
  if (status === 503) return "temporarily_unavailable";
  if (status >= 500) return "server_error";
  return "invalid_request";
}
