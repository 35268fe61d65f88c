import { decodeJwt } from "jose";
import type { z } from "zod";
import { COMPACT_JWS } from "../../auth/authenticator.js";
import { entraIssuers, issuerTrusts } from "../../auth/issuers.js";
import type { BrokerConfig } from "../../config.js";
import { explain, explainSubject, type ExplainSubject } from "../../policy/explain.js";
import type { PolicyExplainWire } from "../../wire/policy-explain.js";
import { rolesOf, ROLES } from "../caller.js";
import { problems } from "../problem.js";
import { json, type CallerHandler } from "../route.js";
import type { policyExplainRequest } from "../schemas.js";

type ExplainBody = { type: "application/json"; value: z.output<typeof policyExplainRequest> };

/** The token's claims, unverified: they are only ever explained, never trusted. Never echoed. */
function tokenClaims(token: string): Record<string, unknown> {
  const refused = () =>
    problems.badRequest("The request body is invalid.", [
      { field: "token", message: "is not a decodable JWT" },
    ]);
  if (!COMPACT_JWS.test(token)) throw refused();
  try {
    return decodeJwt(token);
  } catch {
    throw refused();
  }
}

/**
 * What the broker would do with such a token before any grant is read (authenticator.ts), as
 * fixed sentences: given claims are not verified, so the explanation may be of a token it refuses.
 */
function warnings(config: BrokerConfig, subject: ExplainSubject, now: number): string[] {
  const { claims } = subject;
  const entra = entraIssuers(config);
  const known = [entra.v1, entra.v2, ...config.trustedIssuers.map((t) => t.issuer)];
  const out: string[] = [];
  const iss = claims["iss"];
  if (iss === undefined) out.push("no iss claim: every token the broker accepts has one");
  else if (!known.includes(iss as string))
    out.push("iss names no issuer the broker trusts: it refuses such tokens (401)");
  if (subject.issuerKind === "entra") {
    const tid = claims["tid"];
    if (typeof tid !== "string" || tid.toLowerCase() !== config.tenantId)
      out.push("tid is not the broker's tenant: it refuses such Entra tokens (401)");
    if (claims["appid"] === undefined) out.push("neither appid nor azp: not an access token, refused (401)");
  }
  const exp = claims["exp"];
  if (typeof exp === "number" && exp * 1000 < now) out.push("exp has passed: the broker refuses it (401)");
  return out;
}

/**
 * `POST /api/policy/explain`. With Policy.Read (Secrets.Admin implies it): the decision for any
 * claims, grant by grant. Without: only the caller itself, and only the decision, which is what
 * `POST /api/token` tells it anyway (unknown and forbidden profiles alike: DESIGN §5).
 */
export const postPolicyExplain: CallerHandler<unknown, ExplainBody> = (input, rt, caller) => {
  const request = input.body.value;
  const full = rolesOf(rt, caller).has(ROLES.policyRead);
  // Refused before the token is even decoded: without the role, no one else's claims at all.
  if (!full && (request.claims !== undefined || request.token !== undefined)) {
    throw problems.roleRequired(ROLES.policyRead);
  }
  const given = request.claims ?? (request.token !== undefined ? tokenClaims(request.token) : undefined);
  const entra = entraIssuers(rt.config);
  // A configured issuer is taken as the authenticator takes it (a partner tenant listed in
  // BROKER_TRUSTED_ISSUERS is "trusted", whatever its form); the form rule only for the others.
  const configured =
    given !== undefined ? issuerTrusts(rt.config).find((t) => t.issuer === given["iss"])?.kind : undefined;
  const subject: ExplainSubject =
    given !== undefined
      ? explainSubject(
          given,
          request.issuer ?? configured,
          [entra.v1, entra.v2].filter((i) => i !== undefined),
        )
      : { claims: caller.claims, issuerKind: caller.issuerKind };
  const explanation = explain(rt.policy, subject, request.profile);
  const whose = request.claims !== undefined ? "claims" : request.token !== undefined ? "token" : "caller";
  const answer: PolicyExplainWire = full
    ? {
        ...explanation,
        subject: whose,
        warnings: given !== undefined ? warnings(rt.config, subject, rt.now()) : [],
      }
    : { profile: request.profile, decision: explanation.decision, subject: "caller" };
  return Promise.resolve(json(200, answer, { "cache-control": "no-store" }));
};
