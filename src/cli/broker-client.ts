import { z } from "zod";
import { KINDS, ROTATIONS, STATUSES } from "../inventory/managed-credential.js";
import type { importRequestSchema } from "../inventory/import-request.js";
import {
  inventoryItemWire,
  inventoryPageWire,
  removeResultWire,
  rotateOutcomeWire,
  versionItemWire,
  versionsWire,
} from "../inventory/wire.js";
import { retryAfterSeconds } from "../net/upstream-status.js";
import { driftReportWire, type DriftReportWire } from "../wire/drift.js";
import { noticeReportWire, rotationReportWire } from "../wire/sweep-reports.js";
import { tokenAnswerWire, type TokenAnswerWire } from "../wire/token-answer.js";
import { CliError, oneLine } from "./errors.js";
import { ProblemError, json, networkReason, parse, problemError } from "./broker-answers.js";
import { whoamiWire, type WhoamiWire } from "../wire/whoami.js";
import { policyExplainWire, type PolicyExplainWire } from "../wire/policy-explain.js";
import { expiredTokenMessage } from "./expired-token.js";

/**
 * A small typed client of the broker's inventory API. Every answer is parsed by a zod schema
 * before the CLI trusts it; objects are loose so a newer broker may add fields.
 */

// The vocabulary is the broker's own: one definition for the API and its client.
export { KINDS, ROTATIONS, STATUSES };

export type Kind = (typeof KINDS)[number];
export type Status = (typeof STATUSES)[number];
export type Rotation = (typeof ROTATIONS)[number];

// The answers' shapes are the server's own (src/inventory/wire.ts): one definition for both sides.
export const itemSchema = inventoryItemWire;
export type Item = z.infer<typeof itemSchema>;
export const listSchema = inventoryPageWire;
export type ItemList = z.infer<typeof listSchema>;
export const versionSchema = versionItemWire;
export type Version = z.infer<typeof versionSchema>;
export const versionsSchema = versionsWire;
export const deletedSchema = removeResultWire;
export type Deleted = z.infer<typeof deletedSchema>;
const rotatedSchema = rotateOutcomeWire;

export interface ListFilter {
  kind?: Kind | undefined;
  status?: Status | undefined;
  owner?: string | undefined;
  expiringWithinDays?: number | undefined;
  top?: number | undefined;
  continuation?: string | undefined;
}

/**
 * The body of `PUT /api/inventory/{name}`: the server's schema's input. Scopes stay plain strings:
 * the broker judges them (and names the rule) rather than the CLI.
 */
export type ImportBody = Omit<z.input<typeof importRequestSchema>, "scopes"> & { scopes?: string[] };

/** The body of `POST /api/policy/explain`: claims or a token stay as read, the broker checks them. */
export interface PolicyExplainBody {
  profile: string;
  claims?: Record<string, unknown>;
  token?: string;
  issuer?: "entra" | "trusted";
}

export interface BrokerClientOptions {
  /** The broker's origin (a path prefix is kept); the client adds `api/…`. */
  baseUrl: URL;
  /** Asked once, on the first request, so `--help` and usage errors never need a credential. */
  token: () => Promise<string>;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** How a brief 503 or 429 is waited out before its one retry (tests record it instead). */
  sleep?: (ms: number) => Promise<void>;
}

/** The longest Retry-After a token request waits out (once): a git operation should not hang. */
export const TOKEN_RETRY_MAX_SECONDS = 5;
/** The answers a token request waits out once: an outage, or the caller's rate limit. */
const RETRIED: readonly number[] = [503, 429];

export class BrokerClient {
  private tokenOnce: Promise<string> | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: BrokerClientOptions) {
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** Gets the token now, so a person is not asked for a secret only to fail on sign-in after. */
  async authenticate(): Promise<void> {
    this.tokenOnce ??= this.options.token();
    await this.tokenOnce;
  }

  async list(filter: ListFilter): Promise<ItemList> {
    const res = await this.request("GET", "inventory", { query: filterQuery(filter) });
    return parse(listSchema, await json(res));
  }

  /** Every page, following `continuation` until the broker says there is no more. */
  async listAll(filter: Omit<ListFilter, "top" | "continuation">): Promise<Item[]> {
    const items: Item[] = [];
    let continuation: string | undefined;
    const seen = new Set<string>();
    for (;;) {
      const page = await this.list({ ...filter, continuation });
      items.push(...page.items);
      if (page.continuation === null) return items;
      // A broker that hands back a token it already gave would loop forever.
      if (seen.has(page.continuation)) throw new CliError("the broker repeated a continuation token");
      seen.add(page.continuation);
      continuation = page.continuation;
    }
  }

  /** The broker's CSV, as it sent it (RFC 4180 quoting is the broker's). */
  listCsv(filter: Omit<ListFilter, "top" | "continuation">): Promise<string> {
    return this.csv("inventory", filterQuery(filter));
  }

  /** The drift report (`GET /api/drift`), or the broker's CSV of it. */
  async drift(): Promise<DriftReportWire> {
    return parse(driftReportWire, await json(await this.request("GET", "drift")));
  }

  driftCsv(): Promise<string> {
    return this.csv("drift", {});
  }

  private async csv(path: string, query: Record<string, string>): Promise<string> {
    const res = await this.request("GET", path, {
      query: { ...query, format: "csv" },
      accept: "text/csv, application/problem+json",
    });
    const type = res.headers.get("content-type") ?? "";
    if (!/^text\/csv\b/i.test(type)) {
      throw new CliError(`the broker answered ${oneLine(type) || "no content type"} instead of text/csv`);
    }
    return res.text();
  }

  async show(name: string): Promise<Item> {
    const res = await this.request("GET", `inventory/${encodeURIComponent(name)}`);
    return parse(itemSchema, await json(res));
  }

  /** One credential's metadata, or undefined when the broker has none of that name (404). */
  async find(name: string): Promise<Item | undefined> {
    const res = await this.request("GET", `inventory/${encodeURIComponent(name)}`, { allowNotFound: true });
    if (res.status === 404) return undefined;
    return parse(itemSchema, await json(res));
  }

  async versions(name: string): Promise<Version[]> {
    const res = await this.request("GET", `inventory/${encodeURIComponent(name)}/versions`);
    return parse(versionsSchema, await json(res)).items;
  }

  /** `createOnly` sends If-None-Match: *, so an existing name is refused (412), never updated. */
  async put(
    name: string,
    body: ImportBody,
    recover: boolean,
    createOnly = false,
  ): Promise<{ created: boolean; item: Item }> {
    const res = await this.request("PUT", `inventory/${encodeURIComponent(name)}`, {
      query: recover ? { recover: "true" } : {},
      body,
      ...(createOnly ? { headers: { "if-none-match": "*" } } : {}),
    });
    return { created: res.status === 201, item: parse(itemSchema, await json(res)) };
  }

  async rotate(name: string, organization?: string): Promise<z.infer<typeof rotatedSchema>> {
    const query = organization !== undefined ? `?organization=${encodeURIComponent(organization)}` : "";
    const res = await this.request("POST", `inventory/${encodeURIComponent(name)}/rotate${query}`);
    return parse(rotatedSchema, await json(res));
  }

  /** `skipUpstream` deletes without revoking upstream (`?upstream=skip`). */
  async revoke(name: string, options: { skipUpstream?: boolean } = {}): Promise<Deleted> {
    const res = await this.request("DELETE", `inventory/${encodeURIComponent(name)}`, {
      query: options.skipUpstream === true ? { upstream: "skip" } : {},
    });
    return parse(deletedSchema, await json(res));
  }

  async sweepRotation(): Promise<z.infer<typeof rotationReportWire>> {
    const res = await this.request("POST", "sweeps/rotation");
    return parse(rotationReportWire, await json(res));
  }

  async sweepNotices(): Promise<z.infer<typeof noticeReportWire>> {
    const res = await this.request("POST", "sweeps/notices");
    return parse(noticeReportWire, await json(res));
  }

  /**
   * A credential for one profile (`POST /api/token`). A 503 or a 429 (over the caller's rate
   * limit) whose Retry-After is at most TOKEN_RETRY_MAX_SECONDS is tried once more; anything else
   * fails as the broker's problem.
   */
  async token(profile: string): Promise<TokenAnswerWire> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.request("POST", "token", {
        body: { profile },
        ...(attempt === 1 ? { allowStatus: RETRIED } : {}),
      });
      if (RETRIED.includes(res.status)) {
        const wait = retryAfterSeconds(res.headers.get("retry-after"));
        if (wait === undefined || wait > TOKEN_RETRY_MAX_SECONDS) throw await problemError(res);
        await res.body?.cancel();
        const sleep = this.options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
        await sleep(wait * 1000);
        continue;
      }
      return parse(tokenAnswerWire, await json(res));
    }
  }

  /** The caller as the broker sees it (any verified caller). */
  async whoami(): Promise<WhoamiWire> {
    const res = await this.request("GET", "whoami");
    return parse(whoamiWire, await json(res));
  }

  /** Why a profile is granted or not (`POST /api/policy/explain`); the broker judges the body. */
  async explain(body: PolicyExplainBody): Promise<PolicyExplainWire> {
    return parse(policyExplainWire, await json(await this.request("POST", "policy/explain", { body })));
  }

  private async request(
    method: string,
    path: string,
    options: {
      query?: Record<string, string>;
      body?: unknown;
      accept?: string;
      allowNotFound?: boolean;
      headers?: Record<string, string>;
      /** Statuses handed back to the caller instead of thrown as a problem. */
      allowStatus?: readonly number[];
    } = {},
  ): Promise<Response> {
    const url = new URL(`api/${path}`, this.options.baseUrl);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    this.tokenOnce ??= this.options.token();
    const token = await this.tokenOnce;
    const headers: Record<string, string> = {
      ...options.headers,
      authorization: `Bearer ${token}`,
      accept: options.accept ?? "application/json, application/problem+json",
    };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        redirect: "error", // a redirect would carry the Bearer token somewhere we did not check
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new CliError(
        `cannot reach the broker at ${this.options.baseUrl.origin} (${networkReason(error)})`,
      );
    }
    if (res.ok || (options.allowNotFound === true && res.status === 404)) return res;
    if (options.allowStatus?.includes(res.status) === true) return res;
    const error = await problemError(res, options.body);
    const expired =
      error instanceof ProblemError && error.code === "invalid_token"
        ? expiredTokenMessage(token, this.options.baseUrl)
        : undefined;
    throw expired !== undefined ? new CliError(expired) : error;
  }
}

function filterQuery(filter: ListFilter): Record<string, string> {
  const q: Record<string, string> = {};
  if (filter.kind !== undefined) q["kind"] = filter.kind;
  if (filter.status !== undefined) q["status"] = filter.status;
  if (filter.owner !== undefined) q["owner"] = filter.owner;
  if (filter.expiringWithinDays !== undefined) q["expiringWithinDays"] = String(filter.expiringWithinDays);
  if (filter.top !== undefined) q["top"] = String(filter.top);
  if (filter.continuation !== undefined) q["continuation"] = filter.continuation;
  return q;
}

export { ProblemError };
