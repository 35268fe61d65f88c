/**
 * Fixed identities of the dev stack, like Azurite's well-known account key: public, loopback
 * only, and never valid anywhere else. Fixed so the sample policy, the README and tests agree.
 */
export const DEV_TENANT_ID = "a1b2c3d4-0000-4000-8000-000000000001";
export const DEV_BROKER_APP_ID = "a1b2c3d4-0000-4000-8000-0000000000b0";
export const DEV_BROKER_AUDIENCE = "api://token-broker";

export interface DevClient {
  name: string;
  clientId: string;
  objectId: string;
  secret: string;
  /** App roles assigned on the broker's API. */
  brokerRoles: string[];
}

export const DEV_CLIENTS: readonly DevClient[] = [
  {
    name: "dev-caller",
    clientId: "a1b2c3d4-0000-4000-8000-0000000000c1",
    objectId: "a1b2c3d4-0000-4000-8000-0000000001c1",
    secret: "dev-caller-secret",
    brokerRoles: [],
  },
  {
    name: "dev-ops",
    clientId: "a1b2c3d4-0000-4000-8000-0000000000c2",
    objectId: "a1b2c3d4-0000-4000-8000-0000000001c2",
    secret: "dev-ops-secret",
    brokerRoles: ["Inventory.Read"],
  },
  {
    name: "dev-admin",
    clientId: "a1b2c3d4-0000-4000-8000-0000000000c3",
    objectId: "a1b2c3d4-0000-4000-8000-0000000001c3",
    secret: "dev-admin-secret",
    brokerRoles: ["Inventory.Read", "Secrets.Admin"],
  },
];

/** The app whose client secret the sample vault holds, minted for by the `graph-app` profile. */
export const DEV_DOWNSTREAM_APP = {
  clientId: "a1b2c3d4-0000-4000-8000-0000000000d1",
  objectId: "a1b2c3d4-0000-4000-8000-0000000001d1",
};

/** The broker's managed identities: system-assigned, and one user-assigned named in the sample policy. */
export const DEV_MANAGED_IDENTITIES = {
  systemAssigned: {
    clientId: "a1b2c3d4-0000-4000-8000-0000000000e0",
    objectId: "a1b2c3d4-0000-4000-8000-0000000001e0",
  },
  userAssigned: {
    clientId: "a1b2c3d4-0000-4000-8000-0000000000e1",
    objectId: "a1b2c3d4-0000-4000-8000-0000000001e1",
  },
};
