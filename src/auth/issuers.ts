import type { BrokerConfig } from "../config.js";

/** One issuer whose tokens the broker accepts, and how to find its keys. */
export interface IssuerTrust {
  issuer: string;
  /** `entra`: the broker's own tenant (its claims such as tid, oid, appid and roles are meaningful). */
  kind: "entra" | "trusted";
  audiences: readonly string[];
  /** Where the keys are: a JWKS URL, or the OIDC discovery document that names one. */
  keys: { jwksUri: string } | { discoveryUrl: string };
}

const discoveryOf = (issuer: string) => `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;

/**
 * The Entra tenant contributes both issuer forms, because the token version follows the API
 * app's manifest, not the caller: v1 `https://sts.windows.net/{tid}/` and v2 `{authority}/{tid}/v2.0`.
 * Their keys are named explicitly under the authority host (Entra's own discovery documents point
 * there): keys from discovery must share the issuer's origin, which the v1 issuer does not.
 */
export function issuerTrusts(config: BrokerConfig): IssuerTrust[] {
  const { authorityHost, tenantId, audiences } = config;
  const entra: IssuerTrust[] = [
    {
      issuer: `https://sts.windows.net/${tenantId}/`,
      kind: "entra",
      audiences,
      keys: { jwksUri: `${authorityHost}/${tenantId}/discovery/keys` },
    },
    {
      issuer: `${authorityHost}/${tenantId}/v2.0`,
      kind: "entra",
      audiences,
      keys: { jwksUri: `${authorityHost}/${tenantId}/discovery/v2.0/keys` },
    },
  ];
  const trusted = config.trustedIssuers.map((t): IssuerTrust => ({
    issuer: t.issuer,
    kind: "trusted",
    audiences: t.audiences ?? audiences,
    keys: t.jwksUri !== undefined ? { jwksUri: t.jwksUri } : { discoveryUrl: discoveryOf(t.issuer) },
  }));
  return [...entra, ...trusted];
}
