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

/** The issuer hosts of one Entra cloud: v1 tokens (`sts…`) and v2 tokens. */
export interface EntraCloudIssuers {
  v1Host: string;
  v2Host: string;
}

const PUBLIC: EntraCloudIssuers = { v1Host: "sts.windows.net", v2Host: "login.microsoftonline.com" };
const US_GOVERNMENT: EntraCloudIssuers = { v1Host: "sts.windows.net", v2Host: "login.microsoftonline.us" };
const CHINA: EntraCloudIssuers = {
  v1Host: "sts.chinacloudapi.cn",
  v2Host: "login.partner.microsoftonline.cn",
};

/**
 * Entra clouds by authority host, aliases included (MSAL's instance-discovery metadata). The v1
 * issuer is not the authority host: US Government keeps `sts.windows.net`, China has its own
 * `sts.chinacloudapi.cn`; a China v2 issuer is on `login.partner.microsoftonline.cn` whichever
 * alias signed in. Other hosts (retired Germany, the new sovereign clouds, emulators) have no
 * entry: their v1 issuer must be configured (BROKER_ENTRA_V1_ISSUER), never guessed.
 */
export const ENTRA_CLOUDS: Readonly<Record<string, EntraCloudIssuers>> = {
  "login.microsoftonline.com": PUBLIC,
  "login.windows.net": PUBLIC,
  "login.microsoft.com": PUBLIC,
  "login.microsoftonline.us": US_GOVERNMENT,
  "login.usgovcloudapi.net": US_GOVERNMENT,
  "login.chinacloudapi.cn": CHINA,
  "login.partner.microsoftonline.cn": CHINA,
};

/** The table's entry for an authority (`https://host`, no path), or undefined for any other. */
export function entraCloudOf(authorityHost: string): EntraCloudIssuers | undefined {
  let url: URL;
  try {
    url = new URL(authorityHost);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" || url.port !== "" || url.pathname.replace(/\/+$/, "") !== "")
    return undefined;
  return Object.hasOwn(ENTRA_CLOUDS, url.hostname) ? ENTRA_CLOUDS[url.hostname] : undefined;
}

const ISSUER_SHAPE =
  /^https:\/\/([^/]+)\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/(v2\.0)?$/i;

/** Whether `iss` has the form of an Entra issuer of a cloud in the table: any tenant, v1 or v2. */
export function isEntraIssuerForm(iss: string): boolean {
  const m = ISSUER_SHAPE.exec(iss);
  if (m === null) return false;
  const host = m[1];
  const clouds = Object.values(ENTRA_CLOUDS);
  return m[3] === undefined ? clouds.some((c) => c.v1Host === host) : clouds.some((c) => c.v2Host === host);
}

/** The tenant's Entra issuers: v1 only when the table or the configuration names it. */
export function entraIssuers(config: Pick<BrokerConfig, "authorityHost" | "tenantId" | "entraV1Issuer">): {
  v1: string | undefined;
  v2: string;
} {
  const { authorityHost, tenantId } = config;
  const cloud = entraCloudOf(authorityHost);
  return {
    v1: config.entraV1Issuer ?? (cloud !== undefined ? `https://${cloud.v1Host}/${tenantId}/` : undefined),
    // An unknown authority's v2 issuer is its own host: discovery must then name exactly that.
    v2:
      cloud !== undefined ? `https://${cloud.v2Host}/${tenantId}/v2.0` : `${authorityHost}/${tenantId}/v2.0`,
  };
}

const discoveryOf = (issuer: string) => `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;

/**
 * The Entra tenant contributes both issuer forms, because the token version follows the API
 * app's manifest, not the caller: v1 (e.g. `https://sts.windows.net/{tid}/`) and v2 (the cloud's
 * table, src/auth/issuers.ts). Their keys are named explicitly under the authority host (Entra's
 * own discovery documents point there): keys from discovery must share the issuer's origin, which
 * the v1 issuer does not.
 */
export function issuerTrusts(config: BrokerConfig): IssuerTrust[] {
  const { authorityHost, tenantId, audiences } = config;
  const issuers = entraIssuers(config);
  const entra: IssuerTrust[] = [
    ...(issuers.v1 !== undefined
      ? [
          {
            issuer: issuers.v1,
            kind: "entra" as const,
            audiences,
            keys: { jwksUri: `${authorityHost}/${tenantId}/discovery/keys` },
          },
        ]
      : []),
    {
      issuer: issuers.v2,
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
