import type { GraphEmulatorOptions, EmulatedApplication } from "./graph.js";

/** The Graph emulator's applications and their passwords, and the settings tests change. */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A new password works at Entra only this long after addPassword, unless told otherwise. */
export const DEFAULT_PROPAGATION_DELAY_MS = 3 * 60_000;

export interface StoredPassword {
  keyId: string;
  displayName: string | null;
  secret: string;
  start: number;
  end: number;
}

export type StoredApplication = Omit<EmulatedApplication, "passwords"> & { passwords: StoredPassword[] };

export class GraphHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function createApplicationState(options: GraphEmulatorOptions, now: () => number) {
  let propagationDelay = options.propagationDelayMs ?? DEFAULT_PROPAGATION_DELAY_MS;
  let absentKeyIdStatus = options.absentKeyIdStatus ?? 400;
  const apps = new Map<string, StoredApplication>(
    options.applications.map((a) => [
      a.objectId.toLowerCase(),
      {
        ...a,
        passwords: (a.passwords ?? []).map((p): StoredPassword => ({
          keyId: p.keyId,
          displayName: p.displayName ?? null,
          secret: p.secret,
          start: now(),
          end: p.endDateTime.getTime(),
        })),
      },
    ]),
  );

  /** Graph documents no answer for an absent keyId: a 400, or a 404 worded like an unknown app's. */
  function absentKeyId(keyId: string): GraphHttpError {
    return absentKeyIdStatus === 404
      ? new GraphHttpError(
          404,
          "Request_ResourceNotFound",
          `Resource '${keyId.slice(0, 40)}' does not exist or one of its queried reference-property objects are not present.`,
        )
      : new GraphHttpError(400, "Request_BadRequest", "No password credential found with the given keyId.");
  }

  function appOf(id: string) {
    if (!GUID.test(id)) {
      throw new GraphHttpError(400, "Request_BadRequest", `Invalid object identifier '${id.slice(0, 60)}'.`);
    }
    const app = apps.get(id.toLowerCase());
    if (app === undefined) {
      throw new GraphHttpError(
        404,
        "Request_ResourceNotFound",
        `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    }
    return app;
  }

  return {
    apps,
    absentKeyId,
    appOf,
    propagationDelay: () => propagationDelay,
    setPropagationDelay: (ms: number) => {
      propagationDelay = ms;
    },
    setAbsentKeyIdStatus: (status: 400 | 404) => {
      absentKeyIdStatus = status;
    },
  };
}

export type ApplicationState = ReturnType<typeof createApplicationState>;
