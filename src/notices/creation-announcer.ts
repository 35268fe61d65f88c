import type { CreatedBy, CreationAnnouncer } from "../inventory/creation.js";
import { isVersioned, TAG, toItem } from "../inventory/managed-credential.js";
import { describeError, type Logger } from "../log.js";
import type { SecretProperties, SecretStore } from "../vault/secret-store.js";
import { creationNoticeOf } from "./creation-notice.js";
import { DeliveryError } from "./delivery.js";
import type { Notifier } from "./notifier.js";

/**
 * Sends the owner the creation notice of a version just stored, then records `created-notice=sent`
 * on that version (merged onto its tags as they are now). Never throws: the credential is stored
 * already, and a failed delivery is logged (`notice.creation_failed`), not retried.
 */
export function creationAnnouncer(options: {
  store: SecretStore;
  notifier: Notifier;
  now: () => number;
  log: Logger;
}): CreationAnnouncer {
  const { store, notifier, now, log } = options;
  return async (written: SecretProperties, by: CreatedBy) => {
    const item = toItem(written, { now: now(), noticeDays: 0 });
    if (item === undefined || !isVersioned(item)) return;
    const fields = { name: item.name, version: item.version, by: by.type };
    if (written.tags[TAG.createdNotice] === "sent") return;
    try {
      await notifier.send(creationNoticeOf(item, by, now()));
    } catch (error) {
      const reason = error instanceof DeliveryError ? error.reason : "delivery error";
      if (!(error instanceof DeliveryError))
        log.error("notice.unexpected_error", { ...fields, error: describeError(error) });
      log.warn("notice.creation_failed", { ...fields, reason });
      return;
    }
    try {
      const fresh = await store.getProperties(item.name);
      // A newer version since: this one is history, and the newer one has its own notice.
      if (fresh.version !== item.version) return;
      await store.updateProperties(item.name, item.version, {
        tags: { ...fresh.tags, [TAG.createdNotice]: "sent" },
      });
    } catch (error) {
      log.error("notice.creation_record_failed", { ...fields, error: describeError(error) });
    }
  };
}
