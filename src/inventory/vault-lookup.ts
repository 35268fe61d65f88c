import { SecretNotFoundError, type SecretProperties, type SecretStore } from "../vault/secret-store.js";
import { InventoryError } from "./inventory-error.js";
import { isManaged } from "./managed-credential.js";

/** The current version's properties, or undefined when there is no such (live) secret. */
export async function currentSecret(store: SecretStore, name: string): Promise<SecretProperties | undefined> {
  try {
    return await store.getProperties(name);
  } catch (error) {
    if (error instanceof SecretNotFoundError) return undefined;
    throw error;
  }
}

/** A managed credential's current version; anything else is not_found (unmanaged secrets are invisible). */
export async function managedSecret(store: SecretStore, name: string): Promise<SecretProperties> {
  const current = await currentSecret(store, name);
  if (current === undefined || !isManaged(current.tags)) throw new InventoryError("not_found");
  return current;
}
