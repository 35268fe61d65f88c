import type { CreatedBy, CreationAnnouncer } from "../inventory/creation.js";
import { isVersioned, TAG, toItem } from "../inventory/managed-credential.js";
import { describeError, type Logger } from "../log.js";
import type { SecretProperties, SecretStore } from "../vault/secret-store.js";
import { markCreation, SENT, unsentMark } from "./creation-mark.js";
import { creationNoticeOf } from "./creation-notice.js";
import { DeliveryError } from "./delivery.js";
import type { Notifier } from "./notifier.js";

/**
 * Sends the owner the creation notice of a version just stored, then records it on that version
 * (`created-notice`: `sent`, or `unsent:…` for the notice sweep to send later). Never throws: the
 * credential is stored already; a failed delivery is logged (`notice.creation_failed`).
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
    if (written.tags[TAG.createdNotice] === SENT) return;
    const fields = { name: item.name, version: item.version, by: by.type };
    let mark = SENT;
    try {
      await notifier.send(creationNoticeOf(item, by, now()));
    } catch (error) {
      if (!(error instanceof DeliveryError)) {
        log.error("notice.unexpected_error", { ...fields, error: describeError(error) });
      }
      const reason = error instanceof DeliveryError ? error.reason : "delivery error";
      log.warn("notice.creation_failed", { ...fields, reason });
      mark = unsentMark(by);
    }
    try {
      // A newer version since: this one is history, and the newer one has its own notice.
      await markCreation(store, item.name, item.version, mark);
    } catch (error) {
      log.error("notice.creation_record_failed", { ...fields, error: describeError(error) });
    }
  };
}
