import type { SecretStore } from "./secret-store.js";

/**
 * The store, telling `onWrite` the name of every secret it wrote, deleted or recovered (also when
 * the write failed: it may have landed). The issuer's caches listen, so a rotate, update or
 * delete on this instance is never followed by the old value from cache.
 */
export function observeWrites(store: SecretStore, onWrite: (name: string) => void): SecretStore {
  const after = async <T>(name: string, write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } finally {
      onWrite(name);
    }
  };
  return {
    // Every argument passed on: a dropped `version` would hand out the latest (a pending secret).
    getSecret: (name, version) => store.getSecret(name, version),
    getProperties: (name) => store.getProperties(name),
    listPage: (continuation) => store.listPage(continuation),
    isOwnContinuation: (continuation) => store.isOwnContinuation(continuation),
    listVersions: (name) => store.listVersions(name),
    getDeletedProperties: (name) => store.getDeletedProperties(name),
    setSecret: (name, value, write) => after(name, () => store.setSecret(name, value, write)),
    updateProperties: (name, version, update) =>
      after(name, () => store.updateProperties(name, version, update)),
    deleteSecret: (name) => after(name, () => store.deleteSecret(name)),
    recoverDeleted: (name) => after(name, () => store.recoverDeleted(name)),
  };
}
