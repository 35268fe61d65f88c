import { z } from "zod";
import { jsonOrUndefined } from "../net/json-text.js";
import { ExpiringCache } from "../issuance/expiring-cache.js";
import {
  CONTENT_TYPES,
  isManaged,
  REFRESH_TOKEN_INACTIVITY_MS,
  TAG,
} from "../inventory/managed-credential.js";
import type { HttpSend } from "../net/http-request.js";
import {
  allSecrets,
  SecretDisabledError,
  SecretNotFoundError,
  type SecretProperties,
  type SecretStore,
} from "../vault/secret-store.js";
import { AZURE_DEVOPS_SCOPE } from "./pat-lifecycle-client.js";
import { issuableSecret } from "../inventory/verify-pending.js";

/**
 * The user-delegated grant the broker acts through at the PAT Lifecycle API: service principals
 * and managed identities cannot create or revoke PATs (PROTOCOLS §4). A person consents once; the
 * grant is kept as a `refresh-token` credential in the vault and redeemed at Entra's token
 * endpoint. Entra hands back a new refresh token each time, with a fresh 90-day life: it is
 * stored as a new version (at most daily, with `last-redeemed` and an expiry 90 days on), so the
 * grant never runs out while it is used. A confidential client's grant is redeemed with the
 * client's secret, read from the managed client-secret credential the grant names.
 * Hand-written rather than MSAL: MSAL keeps the rotated refresh token in its own cache, and the
 * vault must be its only store.
 */

/**
 * `client_secret_missing`: a confidential client's grant whose secret credential is absent or not
 * for that client; `client_refused`: Entra refused the client itself (invalid_client, e.g. a wrong or
 * expired secret, or a confidential client redeeming without one); `unsupported_client`: a client
 * type the broker cannot keep a grant for (spa).
 */
export type RotatorFailure =
  | "no_grant"
  | "grant_refused"
  | "client_refused"
  | "client_secret_missing"
  | "unsupported_client"
  | "unavailable";

export class RotatorIdentityError extends Error {
  override name = "RotatorIdentityError";
  constructor(readonly reason: RotatorFailure) {
    super(`rotator identity: ${reason}`);
  }
}

const tokenAnswer = z.object({
  access_token: z
    .string()
    .min(1)
    .max(16 * 1024),
  expires_in: z.coerce.number().int().positive(),
  refresh_token: z
    .string()
    .min(1)
    .max(16 * 1024)
    .optional(),
});
const errorAnswer = z.object({ error: z.string().max(100) });

const DAY_MS = 24 * 3600_000;
/** A new refresh token is stored when the kept one is a day old (not on every redemption: vault writes). */
const STORE_NEW_AFTER_MS = DAY_MS;
/** Access tokens are renewed this long before they expire. */
const MARGIN_MS = 5 * 60_000;
/** Grants change rarely (a person consents once); a listing of a large vault is not cheap. */
const GRANTS_CACHE_MS = 15 * 60_000;

export interface RotatorIdentityOptions {
  store: SecretStore;
  authorityHost: string;
  tenantId: string;
  send: HttpSend;
  now?: () => number;
}

interface Grant {
  name: string;
  organization: string | undefined;
}

/** The enabled, broker-managed refresh-token grants of a vault listing, by name. */
function grantsOf(listed: readonly SecretProperties[]): Grant[] {
  const list: Grant[] = [];
  for (const p of listed) {
    if (p.enabled && isManaged(p.tags) && p.tags[TAG.kind] === "refresh-token") {
      list.push({ name: p.name, organization: p.tags[TAG.organization] });
    }
  }
  return list.sort((a, b) => a.name.localeCompare(b.name));
}

export class RotatorIdentity {
  private readonly now: () => number;
  private readonly tokens: ExpiringCache<string, string>;
  /** The vault's refresh-token grants, under one key: listed once per GRANTS_CACHE_MS. */
  private readonly grants: ExpiringCache<"grants", Grant[]>;

  constructor(private readonly options: RotatorIdentityOptions) {
    this.now = options.now ?? Date.now;
    this.tokens = new ExpiringCache(this.now);
    this.grants = new ExpiringCache(this.now);
  }

  /**
   * The grant that serves an organization: a refresh-token credential tagged with that `org`, else
   * one tagged with none; undefined when there is none (the broker cannot act on PATs there).
   */
  async grantFor(organization: string): Promise<string | undefined> {
    const pick = (grants: readonly Grant[]) =>
      (
        grants.find((g) => g.organization?.toLowerCase() === organization.toLowerCase()) ??
        grants.find((g) => g.organization === undefined)
      )?.name;
    const cached = this.grants.peek("grants") !== undefined;
    const found = pick(await this.listGrants());
    if (found !== undefined || !cached) return found;
    // None in a cached list: a grant stored since then is looked for once more.
    this.grants.delete("grants");
    return pick(await this.listGrants());
  }

  /** The organizations grants are bound to (a grant bound to none serves every organization). */
  async organizations(): Promise<string[]> {
    const named = (await this.listGrants()).flatMap((g) =>
      g.organization !== undefined ? [g.organization] : [],
    );
    return [...new Set(named)].sort();
  }

  private async listGrants(): Promise<Grant[]> {
    return this.grants.getOrLoad("grants", async () => {
      const listed: SecretProperties[] = [];
      for await (const p of allSecrets(this.options.store)) listed.push(p);
      return { value: grantsOf(listed), until: this.now() + GRANTS_CACHE_MS };
    });
  }

  /** Takes the grants from a listing the caller already made (a sweep), saving a second pass over the vault. */
  learnGrants(listed: readonly SecretProperties[]): Grant[] {
    const list = grantsOf(listed);
    this.grants.set("grants", list, this.now() + GRANTS_CACHE_MS);
    return list;
  }

  /** An Azure DevOps access token of the grant's user (cached; concurrent misses share one redemption). */
  accessToken(grantName: string): Promise<string> {
    return this.tokens.getOrLoad(grantName, () => this.redeem(grantName));
  }

  private async redeem(grantName: string): Promise<{ value: string; until: number }> {
    let stored;
    try {
      stored = await this.options.store.getSecret(grantName);
    } catch (error) {
      // Disabled in the vault since the grants were listed: as good as gone.
      if (error instanceof SecretNotFoundError || error instanceof SecretDisabledError) {
        throw new RotatorIdentityError("no_grant");
      }
      throw error;
    }
    const clientId = stored.tags[TAG.clientId];
    if (!isManaged(stored.tags) || stored.tags[TAG.kind] !== "refresh-token" || clientId === undefined) {
      throw new RotatorIdentityError("no_grant");
    }
    const clientType = stored.tags[TAG.clientType] ?? "public";
    if (clientType !== "public" && clientType !== "confidential") {
      throw new RotatorIdentityError("unsupported_client");
    }
    const form: Record<string, string> = {
      grant_type: "refresh_token",
      client_id: clientId,
      refresh_token: stored.value,
      scope: `${AZURE_DEVOPS_SCOPE} offline_access`,
    };
    // A confidential (web) client must authenticate on every redemption (Entra: AADSTS7000218).
    if (clientType === "confidential") form["client_secret"] = await this.clientSecret(stored.tags, clientId);
    const { authorityHost, tenantId } = this.options;
    let response;
    try {
      response = await this.options.send({
        method: "POST",
        url: `${authorityHost}/${tenantId}/oauth2/v2.0/token`,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form).toString(),
      });
    } catch {
      throw new RotatorIdentityError("unavailable");
    }
    const json = jsonOrUndefined(response.body);
    if (response.status !== 200) {
      // invalid_grant: revoked, expired, or consent withdrawn; a person must consent again.
      // invalid_client: the client's own credential was refused (missing, wrong or expired secret).
      const error = errorAnswer.safeParse(json);
      const refused = response.status >= 400 && response.status < 500 && response.status !== 429;
      if (!refused || !error.success) throw new RotatorIdentityError("unavailable");
      throw new RotatorIdentityError(
        error.data.error === "invalid_client" ? "client_refused" : "grant_refused",
      );
    }
    const answer = tokenAnswer.safeParse(json);
    if (!answer.success) throw new RotatorIdentityError("unavailable");
    const now = this.now();
    const keptSince = Date.parse(stored.tags[TAG.rotatedOn] ?? "") || 0;
    if (
      answer.data.refresh_token !== undefined &&
      now - keptSince >= STORE_NEW_AFTER_MS &&
      // A new grant stored meanwhile (someone consented again) must not be shadowed by this one.
      (await this.options.store.getProperties(grantName)).version === stored.version
    ) {
      // The stored token is the one just issued: its 90 days of inactivity start now.
      const at = new Date(now).toISOString();
      const tags: Record<string, string> = { ...stored.tags, [TAG.rotatedOn]: at, [TAG.lastRedeemed]: at };
      for (const stale of [TAG.noticeSentFor, TAG.rotationError]) Reflect.deleteProperty(tags, stale);
      await this.options.store.setSecret(grantName, answer.data.refresh_token, {
        contentType: CONTENT_TYPES["refresh-token"],
        expiresOn: new Date(now + REFRESH_TOKEN_INACTIVITY_MS),
        tags,
      });
    }
    return { value: answer.data.access_token, until: now + answer.data.expires_in * 1000 - MARGIN_MS };
  }

  /** A confidential client's secret: the current value of the managed client-secret credential the grant names. */
  private async clientSecret(tags: Readonly<Record<string, string>>, clientId: string): Promise<string> {
    const name = tags[TAG.clientSecretName];
    if (name === undefined) throw new RotatorIdentityError("client_secret_missing");
    let secret;
    try {
      // A rotated app secret still waiting for Entra is not used: the proven one is.
      secret = await issuableSecret(this.options.store, name);
    } catch (error) {
      if (error instanceof SecretNotFoundError || error instanceof SecretDisabledError) {
        throw new RotatorIdentityError("client_secret_missing");
      }
      throw error;
    }
    const forClient = secret.tags[TAG.clientId];
    if (
      !isManaged(secret.tags) ||
      secret.tags[TAG.kind] !== "client-secret" ||
      (forClient !== undefined && forClient.toLowerCase() !== clientId.toLowerCase())
    ) {
      throw new RotatorIdentityError("client_secret_missing");
    }
    return secret.value;
  }
}
