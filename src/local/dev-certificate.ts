import { generate } from "selfsigned";

export interface DevCertificate {
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM certificate; it is its own CA, so clients trust exactly this. */
  cert: string;
}

/**
 * A throwaway self-signed certificate for the loopback emulators, made at every start so
 * no key material is ever committed. Valid for localhost, 127.0.0.1 and ::1.
 */
export async function createDevCertificate(): Promise<DevCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + 7 * 24 * 3600_000);
  const pems = await generate([{ name: "commonName", value: "token-broker dev stack" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", digitalSignature: true, keyCertSign: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
