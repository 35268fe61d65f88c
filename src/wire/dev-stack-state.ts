import { tmpdir } from "node:os";
import path from "node:path";
import { z } from "zod";

/**
 * The small file a running dev stack (`npm start`) leaves for `token-broker dev-token`: where
 * its broker and Entra emulator listen, its CA and the fixed dev apps. Neutral ground: the dev
 * stack writes it and the CLI reads it, and neither may import the other. The dev apps' secrets
 * are the public, loopback-only ones of src/local/dev-identities.ts, never a real credential.
 */

/** Who `dev-token --as` signs in as: the dev apps dev-admin, dev-ops and dev-caller. */
export const DEV_PERSONAS = ["admin", "ops", "caller"] as const;
export type DevPersona = (typeof DEV_PERSONAS)[number];

const app = z.object({ clientId: z.string().min(1), secret: z.string().min(1) });

export const devStackStateWire = z.object({
  version: z.literal(1),
  /** The dev stack's process: a file left behind by one that is gone is not a running stack. */
  pid: z.number().int().positive(),
  brokerUrl: z.url(),
  tokenEndpoint: z.url(),
  /** The emulators' self-signed CA (PEM file), trusted for the token request. */
  caFile: z.string().min(1),
  tenantId: z.string().min(1),
  /** The scope of a caller token for the broker (`api://token-broker/.default`). */
  scope: z.string().min(1),
  clients: z.object({ admin: app, ops: app, caller: app }),
});
export type DevStackState = z.infer<typeof devStackStateWire>;

/** Where the dev stack writes its state: `TOKEN_BROKER_DEV_STATE`, else one well-known file. */
export function devStateFile(env: Readonly<Record<string, string | undefined>>): string {
  const override = env["TOKEN_BROKER_DEV_STATE"]?.trim();
  return override ? override : path.join(tmpdir(), "token-broker-dev", "stack.json");
}
