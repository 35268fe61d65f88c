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
    // Ops triage "why is X refused": they read the policy's reasons, not only the inventory.
    brokerRoles: ["Inventory.Read", "Policy.Read"],
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

/**
 * The broker's managed identities. Two of them are the broker's own, never confused (DESIGN §10):
 * `control` (AZURE_CLIENT_ID: the only one with a vault data role, Graph's
 * Application.ReadWrite.OwnedBy and ownership of the apps) and `minting` (BROKER_MINTING_CLIENT_ID:
 * no roles; managed-identity profiles without a clientId mint with it). `userAssigned` is another
 * role-less identity a profile names itself (the build agents'); `systemAssigned` has no roles either.
 */
export const DEV_MANAGED_IDENTITIES = {
  systemAssigned: {
    clientId: "a1b2c3d4-0000-4000-8000-0000000000e0",
    objectId: "a1b2c3d4-0000-4000-8000-0000000001e0",
  },
  userAssigned: {
    clientId: "a1b2c3d4-0000-4000-8000-0000000000e1",
    objectId: "a1b2c3d4-0000-4000-8000-0000000001e1",
  },
  control: {
    clientId: "a1b2c3d4-0000-4000-8000-0000000000e2",
    objectId: "a1b2c3d4-0000-4000-8000-0000000001e2",
  },
  minting: {
    clientId: "a1b2c3d4-0000-4000-8000-0000000000e3",
    objectId: "a1b2c3d4-0000-4000-8000-0000000001e3",
  },
};

/** Graph's app role for managing the applications one owns: what the control identity is granted. */
export const GRAPH_OWNED_BY_ROLE = "Application.ReadWrite.OwnedBy";

/** The person whose delegated grant owns the PATs the broker creates (service principals cannot). */
export const DEV_USER = {
  objectId: "a1b2c3d4-0000-4000-8000-0000000001f1",
  userPrincipalName: "pat-owner@contoso.com",
  displayName: "PAT Owner",
};

/** The public client the PAT owner signs in to once; its refresh token is kept in the vault. */
export const DEV_PUBLIC_CLIENT = {
  clientId: "a1b2c3d4-0000-4000-8000-0000000000f0",
  name: "token-broker-pat-rotator",
};

/** Azure DevOps' resource (application) id: the audience of tokens for its REST APIs. */
export const AZURE_DEVOPS_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798";

/** Organizations the Azure DevOps emulator knows, with their ids (a PAT's targetAccounts). */
export const DEV_DEVOPS_ORGANIZATIONS = [
  { name: "contoso", id: "a1b2c3d4-0000-4000-8000-00000000a001" },
  { name: "fabrikam", id: "a1b2c3d4-0000-4000-8000-00000000a002" },
];
