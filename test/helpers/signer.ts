// Test issuer keys and a JWT forger for verifier tests: valid tokens by default, any header or claim
// overridable, raw segments for tokens jose itself would refuse to build.
import { createLocalJWKSet, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK, SignJWT } from 'jose';

export interface TestSigner {
  jwks: JSONWebKeySet;
  keys: ReturnType<typeof createLocalJWKSet>;
  sign(claims: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Builds a JWT from raw JSON text segments with a junk signature (for shape tests). */
export const rawJwt = (headerJson: string, payloadJson: string): string =>
  `${Buffer.from(headerJson).toString('base64url')}.${Buffer.from(payloadJson).toString('base64url')}.c2ln`;

export const unsignedJwt = (header: unknown, payload: unknown): string =>
  `${b64(header)}.${b64(payload)}.c2ln`;

/** RSA signer with one published key (kid `k1`), RS256. */
export async function createTestSigner(): Promise<TestSigner> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const jwks = { keys: [jwk] };
  return {
    jwks,
    keys: createLocalJWKSet(jwks),
    sign: (claims, header = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT', ...header })
        .sign(privateKey),
  };
}
