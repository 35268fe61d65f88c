import { randomUUID } from "node:crypto";
import {
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
  type CryptoKey,
} from "jose";

/**
 * The emulated tenant's signing key (RS256, like Entra), made at every start. The Entra and
 * managed-identity emulators sign with it; the Key Vault emulator verifies with it.
 */
export class DevSigner {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    readonly jwk: JWK,
  ) {}

  static async create(): Promise<DevSigner> {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const kid = randomUUID().replace(/-/g, "").slice(0, 27);
    const jwk = { ...(await exportJWK(publicKey)), kid, use: "sig", alg: "RS256" };
    return new DevSigner(privateKey, publicKey, jwk);
  }

  get kid(): string {
    return this.jwk.kid ?? "";
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.jwk] };
  }

  sign(claims: JWTPayload): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: this.kid })
      .sign(this.privateKey);
  }

  /** True when the token is ours, unexpired and for `audience` (used by the Key Vault emulator). */
  async verifies(token: string, audience: string): Promise<boolean> {
    return (await this.verify(token, audience)) !== undefined;
  }

  /**
   * The claims when the token is ours, unexpired and for `audience`; undefined otherwise. `now`
   * is the verifying emulator's clock (tests move it).
   */
  async verify(token: string, audience: string, now?: number): Promise<JWTPayload | undefined> {
    try {
      const at = now !== undefined ? { currentDate: new Date(now) } : {};
      return (await jwtVerify(token, this.publicKey, { audience, algorithms: ["RS256"], ...at })).payload;
    } catch {
      return undefined;
    }
  }
}
