import { z } from "zod";

/**
 * What the broker keeps out of a credential it hands over: no whitespace or control character,
 * so a value can go into an HTTP header or a line of git's credential protocol as it is.
 */
const credentialText = z
  .string()
  .min(1)
  .max(16 * 1024)
  .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces");

/**
 * The broker's `POST /api/token` answer (JSON form), as a zod schema for its clients (the CLI,
 * the git credential helper). Loose: a newer broker may add fields; zod's messages never quote
 * the value, so a parse failure cannot print the credential.
 */
export const tokenAnswerWire = z.looseObject({
  access_token: credentialText,
  token_type: z.enum(["Bearer", "Basic"]),
  expires_in: z.number().int().nonnegative(),
  expires_on: z.iso.datetime({ offset: true }),
  profile: z.string().min(1),
  /** The ready `Authorization` header value: `Bearer <token>` or `Basic base64(":" + PAT)`. */
  authorization: z.string().regex(/^(Bearer|Basic) [\x21-\x7e]+$/, "<scheme> <credential>"),
  /** Only in the RFC 8693 token-exchange form. */
  issued_token_type: z.string().optional(),
});
export type TokenAnswerWire = z.infer<typeof tokenAnswerWire>;
