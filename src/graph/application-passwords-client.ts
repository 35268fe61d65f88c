import type { TokenCredential } from "@azure/core-auth";
import { jsonOrUndefined } from "../net/json-text.js";
import { z } from "zod";
import { sendBearerJson } from "../net/bearer-json.js";
import { httpSender, type HttpResponse, type HttpSend } from "../net/http-request.js";
import { classifyStatus, retryAfterSeconds } from "../net/upstream-status.js";
import { GraphError, type GraphOperation } from "./graph-error.js";

/**
 * Microsoft Graph application passwords (PROTOCOLS §5): addPassword, removePassword and the
 * application's passwordCredentials, as the broker's managed identity (app-only token).
 */

export const GRAPH_SCOPE = "https://graph.microsoft.com/.default";
export const DEFAULT_GRAPH_URL = "https://graph.microsoft.com";

export interface PasswordCredential {
  keyId: string;
  displayName: string | null;
  /** The first characters of the secret, as Graph shows them. */
  hint: string | null;
  startDateTime: Date;
  endDateTime: Date;
}

/** addPassword is the only answer that carries the secret. */
export interface AddedPassword extends PasswordCredential {
  secretText: string;
}

export interface ApplicationPasswordsClientOptions {
  /** `https://graph.microsoft.com` unless pointed elsewhere (the dev stack's emulator). */
  baseUrl?: string;
  /** The broker's identity; asked for `https://graph.microsoft.com/.default`. */
  credential: TokenCredential;
  send?: HttpSend;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/)
  .transform((s) => new Date(s));
const passwordSchema = z.object({
  keyId: z.string().regex(GUID),
  displayName: z.string().nullable().optional(),
  hint: z.string().nullable().optional(),
  startDateTime: isoDate,
  endDateTime: isoDate,
  secretText: z.string().nullable().optional(),
});
const applicationSchema = z.object({ passwordCredentials: z.array(passwordSchema) });
const ownedApplicationSchema = applicationSchema.extend({ appId: z.string().regex(GUID) });

/** What the broker checks before it adds or removes a password: whose app it is, and what it holds. */
export interface ApplicationPasswords {
  /** The application's client id: must equal the client id the broker recorded for it. */
  appId: string;
  passwords: PasswordCredential[];
}
/** Graph's error code is echoed in messages, so only a plain identifier is kept. */
const errorSchema = z.object({ error: z.object({ code: z.string().regex(/^[A-Za-z_.]{1,64}$/) }) });

type ParsedPassword = z.output<typeof passwordSchema>;

function toCredential(p: ParsedPassword): PasswordCredential {
  return {
    keyId: p.keyId.toLowerCase(),
    displayName: p.displayName ?? null,
    hint: p.hint ?? null,
    startDateTime: p.startDateTime,
    endDateTime: p.endDateTime,
  };
}

export class ApplicationPasswordsClient {
  private readonly baseUrl: string;
  private readonly send: HttpSend;

  constructor(private readonly options: ApplicationPasswordsClientOptions) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_GRAPH_URL).replace(/\/+$/, "");
    this.send = options.send ?? httpSender();
  }

  /** A new client secret for the application (by object id), valid until `endDateTime`. */
  async addPassword(
    applicationObjectId: string,
    input: { displayName: string; endDateTime: Date },
  ): Promise<AddedPassword> {
    const res = await this.call("addPassword", "POST", `${guid(applicationObjectId)}/addPassword`, {
      passwordCredential: { displayName: input.displayName, endDateTime: input.endDateTime.toISOString() },
    });
    if (res.status !== 200) throw graphFailure("addPassword", res);
    const parsed = passwordSchema.safeParse(jsonOrUndefined(res.body));
    const secret = parsed.success ? parsed.data.secretText : undefined;
    if (!parsed.success || typeof secret !== "string" || secret.length < 16) {
      throw new GraphError("addPassword", { kind: "malformed", status: res.status });
    }
    return { ...toCredential(parsed.data), secretText: secret };
  }

  /**
   * Removes one client secret: `removed` when Graph answers 204, `absent` when it answered
   * anything else yet the application's passwordCredentials, read back, no longer hold the keyId.
   * Graph documents only the 204: an absent keyId's answer is not documented (a 400 or a 404,
   * the same 404 as an unknown application), and a timeout or 5xx can hide a removal that
   * happened. So an error is never taken to mean "gone" by itself; only the read says so, and
   * when it cannot (the read fails, or the keyId is still there) the removal's own error stands.
   */
  async removePassword(applicationObjectId: string, keyId: string): Promise<"removed" | "absent"> {
    let failure: GraphError;
    try {
      const res = await this.call("removePassword", "POST", `${guid(applicationObjectId)}/removePassword`, {
        keyId: guid(keyId),
      });
      if (res.status === 204 || res.status === 200) return "removed";
      failure = graphFailure("removePassword", res);
    } catch (error) {
      if (!(error instanceof GraphError)) throw error;
      failure = error;
    }
    // No token, or throttled: a read now would fare no better.
    if (failure.reason.kind === "unauthorized" || failure.reason.kind === "throttled") throw failure;
    if ((await this.stillHolds(applicationObjectId, keyId)) === false) return "absent";
    throw failure;
  }

  /** Whether the application still has the password; undefined when Graph cannot say. */
  private async stillHolds(applicationObjectId: string, keyId: string): Promise<boolean | undefined> {
    try {
      const wanted = keyId.toLowerCase();
      return (await this.listPasswords(applicationObjectId)).some((p) => p.keyId === wanted);
    } catch {
      return undefined;
    }
  }

  /** The application's client secrets (metadata only: Graph never returns the values again). */
  async listPasswords(applicationObjectId: string): Promise<PasswordCredential[]> {
    const res = await this.call(
      "listPasswords",
      "GET",
      `${guid(applicationObjectId)}?$select=passwordCredentials`,
    );
    if (res.status !== 200) throw graphFailure("listPasswords", res);
    const parsed = applicationSchema.safeParse(jsonOrUndefined(res.body));
    if (!parsed.success) throw new GraphError("listPasswords", { kind: "malformed", status: res.status });
    return parsed.data.passwordCredentials.map(toCredential);
  }

  /** The application's appId and client secrets (metadata only), in one GET. */
  async application(applicationObjectId: string): Promise<ApplicationPasswords> {
    const res = await this.call(
      "getApplication",
      "GET",
      `${guid(applicationObjectId)}?$select=appId,passwordCredentials`,
    );
    if (res.status !== 200) throw graphFailure("getApplication", res);
    const parsed = ownedApplicationSchema.safeParse(jsonOrUndefined(res.body));
    if (!parsed.success) throw new GraphError("getApplication", { kind: "malformed", status: res.status });
    return {
      appId: parsed.data.appId.toLowerCase(),
      passwords: parsed.data.passwordCredentials.map(toCredential),
    };
  }

  private async call(
    operation: GraphOperation,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
  ): Promise<HttpResponse> {
    let token: string;
    try {
      const access = await this.options.credential.getToken(GRAPH_SCOPE);
      if (access === null) throw new Error("no token");
      token = access.token;
    } catch {
      // The broker's own identity failing (no identity, Entra down) is "try again later" here.
      throw new GraphError(operation, { kind: "unavailable", retryAfterSeconds: undefined });
    }
    return sendBearerJson(
      this.send,
      { method, url: `${this.baseUrl}/v1.0/applications/${path}`, token, body },
      {
        rejected: () => new GraphError(operation, { kind: "malformed", status: 0 }),
        unavailable: () => new GraphError(operation, { kind: "unavailable", retryAfterSeconds: undefined }),
      },
    );
  }
}

/** A non-success answer -> GraphError, by status and error code only. */
function graphFailure(operation: GraphOperation, res: HttpResponse): GraphError {
  const { status } = res;
  const parsed = errorSchema.safeParse(jsonOrUndefined(res.body));
  const code = parsed.success ? parsed.data.error.code : undefined;
  const retryAfter = () => retryAfterSeconds(res.headers["retry-after"]);
  switch (classifyStatus(status)) {
    case "unauthorized":
      return new GraphError(operation, { kind: "unauthorized" });
    case "forbidden":
      return new GraphError(operation, { kind: "forbidden", code });
    case "not_found":
      return new GraphError(operation, { kind: "not-found" });
    case "throttled":
      return new GraphError(operation, { kind: "throttled", retryAfterSeconds: retryAfter() });
    case "transient":
      return new GraphError(operation, { kind: "unavailable", retryAfterSeconds: retryAfter() });
    default:
      return new GraphError(operation, { kind: "rejected", code, status });
  }
}

function guid(value: string): string {
  if (!GUID.test(value)) throw new RangeError("expected a GUID (application object id or keyId)");
  return value;
}
