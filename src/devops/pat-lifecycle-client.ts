import { z } from "zod";
import { jsonOrUndefined } from "../net/json-text.js";
import { sendBearerJson } from "../net/bearer-json.js";
import { httpSender, type HttpResponse, type HttpSend } from "../net/http-request.js";
import { classifyStatus, retryAfterSeconds } from "../net/upstream-status.js";
import { DevOpsError, type DevOpsOperation } from "./devops-error.js";
import { isPatFormat } from "./pat-format.js";

/**
 * Azure DevOps PAT Lifecycle Management API (PROTOCOLS §4), one organization per call:
 * `{base}/{organization}/_apis/tokens/pats?api-version=7.1-preview.1`. It needs a user-delegated
 * Entra token (service principals cannot manage PATs), which the caller supplies.
 */

export const PAT_API_VERSION = "7.1-preview.1";
/** The Entra scope of Azure DevOps' REST APIs. */
export const AZURE_DEVOPS_SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default";
export const DEFAULT_VSSPS_URL = "https://vssps.dev.azure.com";

export interface PatToken {
  authorizationId: string;
  displayName: string;
  /** Space-separated scopes, e.g. `vso.code vso.packaging`. */
  scope: string;
  validFrom: Date;
  validTo: Date;
  /** Organization ids the PAT is valid for; null means all organizations (a global PAT). */
  targetAccounts: string[] | null;
}

/** Create is the only answer that carries the PAT itself. */
export interface CreatedPat extends PatToken {
  token: string;
}

export interface CreatePatInput {
  displayName: string;
  scope: string | readonly string[];
  validTo: Date;
}

export interface UpdatePatInput {
  authorizationId: string;
  displayName?: string;
  scope?: string | readonly string[];
  validTo?: Date;
}

export interface ListPatsFilter {
  displayFilterOption?: "active" | "revoked" | "expired" | "all";
  sortByOption?: "displayName" | "displayDate" | "status";
  isSortAscending?: boolean;
  /** Page size asked for ($top, at most 100). */
  pageSize?: number;
}

export interface PatLifecycleClientOptions {
  /** `https://vssps.dev.azure.com` unless pointed elsewhere (the dev stack's emulator). */
  baseUrl?: string;
  /** A user-delegated Entra access token for Azure DevOps; called before every request. */
  accessToken: () => Promise<string>;
  /** The HTTP exchange; defaults to httpSender() (HTTPS to non-loopback hosts, deadline, size cap). */
  send?: HttpSend;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Organization names: letters, digits and hyphens, not starting or ending with a hyphen. */
const ORGANIZATION = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$/;
const SCOPE_NAME = /^[a-z_]+(\.[a-z_]+)*$/;
const MAX_PAGES = 1000;

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/)
  .transform((s) => new Date(s));
const patTokenSchema = z.object({
  authorizationId: z.string().regex(GUID),
  displayName: z.string(),
  scope: z.string(),
  validFrom: isoDate,
  validTo: isoDate,
  targetAccounts: z.array(z.string()).nullable().optional(),
  token: z.string().nullable().optional(),
});
/** patTokenError is echoed in messages, so only a plain identifier is accepted. */
const patTokenError = z.string().regex(/^[A-Za-z]{1,64}$/);
const resultSchema = z.object({ patToken: patTokenSchema.nullable().optional(), patTokenError });
const listSchema = z.object({
  continuationToken: z.string().nullable().optional(),
  patTokens: z.array(patTokenSchema),
});
/** A PatTokenResult-looking error body, read only for its patTokenError. */
const errorResultSchema = z.object({ patTokenError });

type ParsedPat = z.output<typeof patTokenSchema>;

function toPat(p: ParsedPat): PatToken {
  return {
    authorizationId: p.authorizationId.toLowerCase(),
    displayName: p.displayName,
    scope: p.scope,
    validFrom: p.validFrom,
    validTo: p.validTo,
    targetAccounts: p.targetAccounts ?? null,
  };
}

function scopeText(scope: string | readonly string[]): string {
  const names = typeof scope === "string" ? scope.split(/\s+/).filter((s) => s !== "") : [...scope];
  if (names.length === 0 || !names.every((n) => SCOPE_NAME.test(n))) {
    throw new RangeError("scope must be one or more scope names such as vso.code");
  }
  return names.join(" ");
}

export class PatLifecycleClient {
  private readonly baseUrl: string;
  private readonly send: HttpSend;

  constructor(private readonly options: PatLifecycleClientOptions) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_VSSPS_URL).replace(/\/+$/, "");
    this.send = options.send ?? httpSender();
  }

  /** Creates a PAT for one organization; `allOrgs` is always false (global PATs are being retired). */
  async create(organization: string, input: CreatePatInput): Promise<CreatedPat> {
    const body = {
      displayName: input.displayName,
      scope: scopeText(input.scope),
      validTo: input.validTo.toISOString(),
      allOrgs: false,
    };
    const parsed = await this.result("create", "POST", organization, {}, body);
    const token = parsed.token;
    // The value is checked for shape only; it never appears in an error.
    if (typeof token !== "string" || !isPatFormat(token))
      throw new DevOpsError("create", { kind: "malformed", status: 200 });
    return { ...toPat(parsed), token };
  }

  async get(organization: string, authorizationId: string): Promise<PatToken> {
    return toPat(await this.result("get", "GET", organization, { authorizationId: guid(authorizationId) }));
  }

  /** Changes a PAT that is still valid; unspecified fields stay as they are. */
  async update(organization: string, input: UpdatePatInput): Promise<PatToken> {
    const body = {
      authorizationId: guid(input.authorizationId),
      ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
      ...(input.scope !== undefined ? { scope: scopeText(input.scope) } : {}),
      ...(input.validTo !== undefined ? { validTo: input.validTo.toISOString() } : {}),
      allOrgs: false,
    };
    return toPat(await this.result("update", "PUT", organization, {}, body));
  }

  /** Revokes a PAT. The spec answers 200 with no body, its example 204: both are success. */
  async revoke(organization: string, authorizationId: string): Promise<void> {
    const res = await this.call("revoke", "DELETE", organization, { authorizationId: guid(authorizationId) });
    if (res.status === 200 || res.status === 204) {
      // A 200 may still carry a PatTokenResult with an error.
      const error =
        res.body.trim() === "" ? undefined : errorResultSchema.safeParse(jsonOrUndefined(res.body));
      if (error?.success === true && error.data.patTokenError !== "none") {
        throw new DevOpsError("revoke", {
          kind: "rejected",
          patTokenError: error.data.patTokenError,
          status: res.status,
        });
      }
      return;
    }
    throw this.failure("revoke", res);
  }

  /** Every page of the listing; the same filters are sent with each continuation token, as the API asks. */
  async list(organization: string, filter: ListPatsFilter = {}): Promise<PatToken[]> {
    const query: Record<string, string> = {
      displayFilterOption: filter.displayFilterOption ?? "active",
      ...(filter.sortByOption !== undefined ? { sortByOption: filter.sortByOption } : {}),
      ...(filter.isSortAscending !== undefined ? { isSortAscending: String(filter.isSortAscending) } : {}),
      ...(filter.pageSize !== undefined ? { $top: String(pageSize(filter.pageSize)) } : {}),
    };
    const all: PatToken[] = [];
    const seen = new Set<string>();
    let continuation: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.call("list", "GET", organization, {
        ...query,
        ...(continuation !== undefined ? { continuationToken: continuation } : {}),
      });
      if (res.status !== 200) throw this.failure("list", res);
      const parsed = listSchema.safeParse(jsonOrUndefined(res.body));
      if (!parsed.success) throw new DevOpsError("list", { kind: "malformed", status: res.status });
      all.push(...parsed.data.patTokens.map(toPat));
      const next = parsed.data.continuationToken ?? "";
      if (next === "") return all;
      // A token seen before would loop forever.
      if (seen.has(next)) throw new DevOpsError("list", { kind: "malformed", status: res.status });
      seen.add(next);
      continuation = next;
    }
    throw new DevOpsError("list", { kind: "malformed", status: 200 });
  }

  private async result(
    operation: DevOpsOperation,
    method: "GET" | "POST" | "PUT",
    organization: string,
    query: Record<string, string>,
    body?: unknown,
  ): Promise<ParsedPat> {
    const res = await this.call(operation, method, organization, query, body);
    if (res.status !== 200) throw this.failure(operation, res);
    const parsed = resultSchema.safeParse(jsonOrUndefined(res.body));
    if (!parsed.success) throw new DevOpsError(operation, { kind: "malformed", status: res.status });
    const { patToken, patTokenError: error } = parsed.data;
    if (error !== "none")
      throw new DevOpsError(operation, { kind: "rejected", patTokenError: error, status: res.status });
    if (patToken === undefined || patToken === null) {
      throw new DevOpsError(operation, { kind: "malformed", status: res.status });
    }
    return patToken;
  }

  private async call(
    operation: DevOpsOperation,
    method: "GET" | "POST" | "PUT" | "DELETE",
    organization: string,
    query: Record<string, string>,
    body?: unknown,
  ): Promise<HttpResponse> {
    if (!ORGANIZATION.test(organization))
      throw new RangeError("organization must be an Azure DevOps organization name");
    const url = new URL(`${this.baseUrl}/${organization}/_apis/tokens/pats`);
    url.searchParams.set("api-version", PAT_API_VERSION);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    // The caller's token source may fail on its own terms (e.g. a revoked refresh token): its error stands.
    const token = await this.options.accessToken();
    return sendBearerJson(
      this.send,
      { method, url: url.toString(), token, body },
      {
        rejected: () => new DevOpsError(operation, { kind: "malformed", status: 0 }),
        unavailable: () => new DevOpsError(operation, { kind: "unavailable", retryAfterSeconds: undefined }),
      },
    );
  }

  private failure(operation: DevOpsOperation, res: HttpResponse): DevOpsError {
    return devOpsFailure(operation, res);
  }
}

/** A non-success answer -> DevOpsError, by status and patTokenError only. */
export function devOpsFailure(operation: DevOpsOperation, res: HttpResponse): DevOpsError {
  const { status } = res;
  // 203 is Azure DevOps' sign-in page for a credential it did not accept.
  const kind = status === 203 ? "unauthorized" : classifyStatus(status);
  if (kind === "unauthorized") return new DevOpsError(operation, { kind: "unauthorized" });
  if (kind === "forbidden") return new DevOpsError(operation, { kind: "forbidden" });
  if (kind === "throttled" || kind === "transient") {
    const retryAfter = retryAfterSeconds(res.headers["retry-after"]);
    return new DevOpsError(operation, {
      kind: kind === "throttled" ? "throttled" : "unavailable",
      retryAfterSeconds: retryAfter,
    });
  }
  const error = errorResultSchema.safeParse(jsonOrUndefined(res.body));
  const patTokenError =
    error.success && error.data.patTokenError !== "none" ? error.data.patTokenError : undefined;
  return new DevOpsError(operation, { kind: "rejected", patTokenError, status });
}

function guid(value: string): string {
  if (!GUID.test(value)) throw new RangeError("authorizationId must be a GUID");
  return value;
}

function pageSize(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new RangeError("pageSize must be between 1 and 100");
  return n;
}
