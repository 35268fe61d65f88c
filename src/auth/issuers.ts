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
 * app's manifest, not the caller: v1 `https://sts.windows.net/{tid}/` (discovered under the
 * authority host) and v2 `{authority}/{tid}/v2.0`.
 */
export function issuerTrusts(config: BrokerConfig): IssuerTrust[] {
  const { authorityHost, tenantId, audiences } = config;
  const entra: IssuerTrust[] = [
    {
      issuer: `https://sts.windows.net/${tenantId}/`,
      kind: "entra",
      audiences,
      keys: { discoveryUrl: `${authorityHost}/${tenantId}/.well-known/openid-configuration` },
    },
    {
      issuer: `${authorityHost}/${tenantId}/v2.0`,
      kind: "entra",
      audiences,
      keys: { discoveryUrl: `${authorityHost}/${tenantId}/v2.0/.well-known/openid-configuration` },
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
