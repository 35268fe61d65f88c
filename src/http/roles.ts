/** The app roles routes require: a module of its own so the registration table imports no auth code. */
export const ROLES = {
  inventoryRead: "Inventory.Read",
  policyRead: "Policy.Read",
  secretsAdmin: "Secrets.Admin",
} as const;
export type Role = (typeof ROLES)[keyof typeof ROLES];
