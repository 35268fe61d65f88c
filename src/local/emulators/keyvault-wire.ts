import { KvError, MAX_PAGE, type Secret, type Version } from "./keyvault-state.js";

/** How the Key Vault emulator renders secrets on the wire: bundles, items, deleted extras, pages. */
export function createWire(origin: () => string, recoverableDays: number) {
  const recovery = () => ({
    recoveryLevel: recoverableDays > 0 ? "Recoverable+Purgeable" : "Purgeable",
    recoverableDays,
  });

  function bundle(s: Secret, v: Version, withValue: boolean): Record<string, unknown> {
    return {
      ...(withValue ? { value: v.value } : {}),
      id: v.id,
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
      ...(v.tags !== undefined ? { tags: v.tags } : {}),
      attributes: { ...v.attributes, ...recovery() },
    };
  }

  function item(s: Secret, v: Version, versioned: boolean): Record<string, unknown> {
    return {
      id: versioned ? v.id : `${origin()}/secrets/${s.name}`,
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
      ...(v.tags !== undefined ? { tags: v.tags } : {}),
      attributes: { ...v.attributes, ...recovery() },
    };
  }

  function deletedExtras(s: Secret): Record<string, unknown> {
    return {
      recoveryId: `${origin()}/deletedsecrets/${s.name}`,
      deletedDate: s.deleted?.deletedDate,
      scheduledPurgeDate: s.deleted?.scheduledPurgeDate,
    };
  }

  /**
   * A page of `all` after the skiptoken, with an absolute nextLink that keeps api-version. With
   * `visible`, the page is a window of `maxresults` entries of which only the visible ones are
   * answered, as the real service skips soft-deleted secrets server-side: a window of deleted
   * ones is an empty page that still carries a nextLink (recorded: `can list secrets by page`).
   */
  function page<T>(
    all: T[],
    keyOf: (t: T) => string,
    render: (t: T) => unknown,
    path: string,
    q: URLSearchParams,
    visible: (t: T) => boolean = () => true,
  ): Record<string, unknown> {
    const max = q.has("maxresults") ? Number(q.get("maxresults")) : MAX_PAGE;
    if (!Number.isInteger(max) || max < 1 || max > MAX_PAGE) {
      throw new KvError(400, "BadParameter", "maxresults must be between 1 and 25.");
    }
    const after = q.get("$skiptoken");
    const start = after === null ? "" : Buffer.from(after, "base64url").toString("utf8");
    const rest = all.filter((t) => keyOf(t) > start);
    const chunk = rest.slice(0, max);
    const last = chunk[chunk.length - 1];
    const nextLink =
      rest.length > max && last !== undefined
        ? `${origin()}${path}?api-version=${q.get("api-version") ?? ""}&$skiptoken=${Buffer.from(keyOf(last)).toString("base64url")}&maxresults=${max}`
        : null;
    return { value: chunk.filter(visible).map(render), nextLink };
  }

  return { recovery, bundle, item, deletedExtras, page };
}
export type Wire = ReturnType<typeof createWire>;
