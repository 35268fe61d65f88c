import { Authenticator } from "../../auth/authenticator.js";
import { isPatFormat } from "../../devops/pat-format.js";
import { auditIdentity, type Principal } from "../../auth/principal.js";
import type { IssuedCredential } from "../../issuance/credential-issuer.js";
import type { z } from "zod";
import type { Runtime } from "../../runtime.js";
import { prepareFields, type PreparedFields } from "../../log.js";
import type { RateClass } from "../../limits/rate-limiter.js";
import type { Entitlements } from "../../policy/policy.js";
import { auditOutcome, toProblem } from "../errors.js";
import { problems } from "../problem.js";
import { memoKey } from "../../runtime-memo.js";
import type { RouteInput, SelfAuditedHandler } from "../route.js";
import { TYPE_ACCESS_TOKEN, type exchangeRequest, type tokenJsonRequest } from "../schemas.js";
import type { BrokerResponse } from "../types.js";

/** RFC 8693 lets a server name its own types; a PAT is neither an OAuth token nor a JWT. */
const TYPE_PAT = "urn:token-broker:token-type:azure-devops-pat";

type TokenBody =
  | { type: "application/json"; value: z.output<typeof tokenJsonRequest> }
  | { type: "application/x-www-form-urlencoded"; value: z.output<typeof exchangeRequest> };
type TokenInput = () => RouteInput<unknown, TokenBody>;

interface TokenRequest {
  profile: string;
  token: string;
  exchange: boolean;
}

/** Query and body are parsed by the pipeline, with the schemas the registration table declares. */
function readRequest(input: TokenInput): TokenRequest {
  const { headers, body } = input();
  if (body.type === "application/json") {
    return {
      profile: body.value.profile,
      token: Authenticator.bearerToken(headers["authorization"]),
      exchange: false,
    };
  }
  const form = body.value;
  // The subject token is the caller's credential; a second, different one in the header is ambiguous.
  const header = headers["authorization"];
  if (header !== undefined && Authenticator.bearerToken(header) !== form.subject_token) {
    throw problems.badRequest("Send the caller token either as subject_token or in Authorization, not both.");
  }
  return { profile: form.audience, token: form.subject_token, exchange: true };
}

/**
 * What the token route reuses between requests, per runtime: the serialised answers (they change
 * once a second, expires_in) per credential; per verified principal (cached objects, one per caller
 * token; the policy is fixed for the runtime) its entitlements and audit identity; and the issued-
 * audit fields, which repeat for the same caller and credential.
 */
interface TokenState {
  answers: WeakMap<IssuedCredential, { key: string; body: string }>;
  perPrincipal: WeakMap<Principal, { entitlements: Entitlements; caller: Record<string, string> }>;
  issuedAudits: WeakMap<Principal, WeakMap<IssuedCredential, PreparedFields>>;
}

const TOKEN_STATE = memoKey<TokenState>("token", () => ({
  answers: new WeakMap(),
  perPrincipal: new WeakMap(),
  issuedAudits: new WeakMap(),
}));

function answer(state: TokenState, issued: IssuedCredential, exchange: boolean, now: number): BrokerResponse {
  const key = `${Math.floor(now / 1000)}:${exchange ? "x" : "j"}`;
  let cached = state.answers.get(issued);
  if (cached?.key !== key) {
    cached = { key, body: serialiseAnswer(issued, exchange, now) };
    state.answers.set(issued, cached);
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
  name !== undefined && /^[A-Za-z0-9._-]{1,64}$/.test(name) && !isPatFormat(name) ? name : undefined;

function derived(state: TokenState, rt: Runtime, principal: Principal) {
  let d = state.perPrincipal.get(principal);
  if (d === undefined) {
    d = { entitlements: rt.policy.entitlements(principal), caller: auditIdentity(principal) };
    state.perPrincipal.set(principal, d);
  }
  return d;
}

function issuedAudit(
  state: TokenState,
  rt: Runtime,
  principal: Principal,
  issued: IssuedCredential,
): PreparedFields {
  let byCredential = state.issuedAudits.get(principal);
  if (byCredential === undefined) {
    byCredential = new WeakMap();
    state.issuedAudits.set(principal, byCredential);
  }
  let fields = byCredential.get(issued);
  if (fields === undefined) {
    fields = prepareFields({
      outcome: "issued",
      caller: derived(state, rt, principal).caller,
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
export async function postToken(
  req: Parameters<SelfAuditedHandler>[0],
  rt: Runtime,
  input: TokenInput,
  rateLimit?: RateClass,
): Promise<BrokerResponse> {
  let request: TokenRequest | undefined;
  let principal: Principal | undefined;
  const state = rt.memo.get(TOKEN_STATE);
  try {
    request = readRequest(input);
    // Warm path: both caches answer synchronously, with no await in between.
    const known = rt.authenticator.cached(request.token);
    rt.metrics.cache("caller_token", known !== undefined);
    principal = known ?? (await rt.authenticator.authenticate(request.token));
    // Every verified request spends a token, granted or not: probing for profiles is limited too.
    if (rateLimit !== undefined) rt.limiter.admit(rateLimit, principal);
    const profile = rt.policy.profile(request.profile);
    if (profile === undefined || !derived(state, rt, principal).entitlements.profiles.has(request.profile)) {
      throw problems.profileNotGranted();
    }
    const ready = rt.issuer.cached(request.profile, profile);
    rt.metrics.cache("credential", ready !== undefined);
    const issued = ready ?? (await rt.issuer.issue(request.profile, profile));
    rt.log.infoPrepared("audit.token", issuedAudit(state, rt, principal, issued));
    rt.metrics.issuance(issued.profile, "issued");
    return answer(state, issued, request.exchange, rt.now());
  } catch (error) {
    const problem = toProblem(error, rt.log);
    const outcome = auditOutcome(problem);
    // The metric takes a profile label only if the policy names it (else `_unknown`).
    rt.metrics.issuance(request?.profile, outcome);
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
  // 409: the profile's stored credential cannot be handed out (§2.2.2: "unable to issue a token
  // for any target service indicated by the ... audience").
  if (status === 403 || status === 409) return "invalid_target";
  // 429 too: RFC 6749 names no token-endpoint error for "slow down"; temporarily_unavailable
  // (its §4.1.2.1) says retry later, as Retry-After does, where invalid_request would tell the
  // client its request is wrong and not worth sending again.
  if (status === 503 || status === 429) return "temporarily_unavailable";
  if (status >= 500) return "server_error";
  return "invalid_request";
}
