/**
 * Azure DevOps PAT formats (PROTOCOLS §4): the 84-character form (76 alphanumerics, the fixed
 * `AZDO` signature, 4 alphanumerics) and the legacy 52-character lowercase base32 form.
 */
const PAT_84 = /^[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4}$/;
const PAT_LEGACY = /^[a-z2-7]{52}$/;

export function isPatFormat(value: string): boolean {
  return PAT_84.test(value) || PAT_LEGACY.test(value);
}

/** `Authorization` header value for a PAT: the user name is ignored by Azure DevOps. */
export function patAuthorization(pat: string): string {
  return `Basic ${Buffer.from(`:${pat}`, "utf8").toString("base64")}`;
}
