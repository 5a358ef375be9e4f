// The stand-in's own token-signing keys: RSA keys with self-signed certificates (for `x5t`/`x5c`), one
// set shared by every tenant as Entra's is, published in Entra's JWKS shape (protocols.md §A.9).
// @peculiar/x509 resolves its providers through tsyringe, which needs the Reflect metadata polyfill.
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CompactSign, type CryptoKey, exportJWK, type JWK } from 'jose';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const rsaAlgorithm = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

/** One signing key. `kid` equals `x5t`, as on Entra's published keys. */
export interface EntraSigningKey {
  kid: string;
  /** base64url SHA-1 thumbprint of the certificate's DER. */
  x5t: string;
  /** base64 DER of the self-signed certificate. */
  certificate: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** A key as Entra's `discovery/keys` endpoints publish it. */
export interface EntraJwk {
  kty: 'RSA';
  use: 'sig';
  kid: string;
  x5t: string;
  n: string;
  e: string;
  x5c: [string];
  issuer?: string;
}

async function createSigningKey(): Promise<EntraSigningKey> {
  const keys = (await webcrypto.subtle.generateKey(rsaAlgorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  // Entra's signing certificates are self-signed with this subject; the certificate only carries x5t/x5c.
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex'),
    name: 'CN=accounts.accesscontrol.windows.net',
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 365 * 24 * 3600_000),
    keys,
    signingAlgorithm: rsaAlgorithm,
  });
  const der = Buffer.from(certificate.rawData);
  const x5t = createHash('sha1').update(der).digest('base64url');
  return {
    kid: x5t,
    x5t,
    certificate: der.toString('base64'),
    privateKey: keys.privateKey as unknown as CryptoKey,
    publicJwk: await exportJWK(keys.publicKey as unknown as CryptoKey),
  };
}

type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** The stand-in's key set: the newest key signs, older ones stay published until retired. */
export class EntraKeySet {
  private readonly keys: EntraSigningKey[];

  private constructor(keys: EntraSigningKey[]) {
    this.keys = keys;
  }

  /** Generates one RSA-2048 key and its certificate (about 100 ms). */
  static async create(): Promise<EntraKeySet> {
    return new EntraKeySet([await createSigningKey()]);
  }

  /** The key that signs new tokens. */
  get active(): EntraSigningKey {
    const key = this.keys.at(-1);
    if (!key) throw new Error('entra stand-in: no signing key');
    return key;
  }

  /** Adds a new signing key; the previous ones stay published (Entra's rollover, §A.6 note). */
  async rotate(): Promise<EntraSigningKey> {
    const key = await createSigningKey();
    this.keys.push(key);
    return key;
  }

  /** Stops publishing every key but the active one. */
  retireOldKeys(): void {
    this.keys.splice(0, this.keys.length - 1);
  }

  /** Entra's JWKS: `issuer` is added on the v2 endpoints (`{tenantid}` placeholder on /common). */
  jwks(issuer?: string): { keys: EntraJwk[] } {
    return {
      keys: this.keys.map((key) => ({
        kty: 'RSA',
        use: 'sig',
        kid: key.kid,
        x5t: key.x5t,
        n: String(key.publicJwk.n),
        e: String(key.publicJwk.e),
        x5c: [key.certificate],
        ...(issuer ? { issuer } : {}),
      })),
    };
  }

  /** The public keys for local verification (the MI-as-FIC assertion is checked against them). */
  verificationKeys(): { keys: JWK[] } {
    return { keys: this.keys.map((key) => ({ ...key.publicJwk, kid: key.kid, alg: 'RS256', use: 'sig' })) };
  }

  /** Signs claims with the active key; `x5t` is added to the header for v1 tokens (§A.9). */
  async sign(claims: Readonly<Record<string, unknown>>, options: { x5t: boolean }): Promise<string> {
    const key = this.active;
    const header = { typ: 'JWT', alg: 'RS256', ...(options.x5t ? { x5t: key.x5t } : {}), kid: key.kid };
    return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader(header)
      .sign(key.privateKey);
  }
}
