// X.509 certificates for GitHub-style JWKS entries: `x5c` (the certificate) and `x5t` (its SHA-1 thumbprint).
// GitHub's JWKS publishes both for its signing key and its tokens carry `x5t` in the header (protocols.md §E.1).
// @peculiar/x509 resolves its providers through tsyringe, which needs the Reflect metadata polyfill.
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { MiddlewareHandler } from 'hono';
import type { JWK } from 'jose';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** The JWKS members GitHub adds to a key: `x5c` (base64 DER, not base64url) and `x5t` (base64url SHA-1). */
export interface CertificateMembers {
  x5c: string[];
  x5t: string;
}

/** RFC 7517 §4.8: `x5t` is the base64url SHA-1 digest of the DER certificate. */
export const thumbprintOf = (der: ArrayBuffer | Uint8Array): string =>
  createHash('sha1').update(new Uint8Array(der)).digest('base64url');

/**
 * Makes certificates for public RSA keys, `CN=actions.self-signed.github` for 10 years as GitHub's current
 * key has. GitHub's is self-signed; these are signed by one throwaway key per maker instead, because
 * oidcIssuer.ts keeps its private keys to itself. No verifier here checks the chain, only `x5t` against `x5c`.
 */
export function createCertificateMaker(): (publicJwk: JWK) => Promise<CertificateMembers> {
  const signer = webcrypto.subtle.generateKey(
    { ...algorithm, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    false,
    ['sign', 'verify'],
  ) as Promise<webcrypto.CryptoKeyPair>;
  return async (publicJwk) => {
    const { kty, n, e } = publicJwk;
    const publicKey = await webcrypto.subtle.importKey('jwk', { kty, n, e }, algorithm, true, ['verify']);
    const notBefore = new Date(Date.now() - 60_000);
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex'),
      subject: 'CN=actions.self-signed.github',
      issuer: 'CN=sandbox stand-in x5c signer',
      notBefore,
      notAfter: new Date(notBefore.getTime() + 10 * 365 * 24 * 3600_000),
      publicKey,
      signingKey: (await signer).privateKey,
      signingAlgorithm: algorithm,
    });
    return {
      x5c: [Buffer.from(certificate.rawData).toString('base64')],
      x5t: thumbprintOf(certificate.rawData),
    };
  };
}

/** Certificates for an issuer's keys, made once per `kid`, and the JWKS middleware that publishes them. */
export interface KeyCertificates {
  forKey(jwk: JWK): Promise<CertificateMembers>;
  /** Adds `x5c` and `x5t` to every RSA key of a 200 JWKS answer; other answers pass through untouched. */
  jwksMiddleware: MiddlewareHandler;
}

/** See KeyCertificates. */
export function createKeyCertificates(): KeyCertificates {
  const make = createCertificateMaker();
  const made = new Map<string, Promise<CertificateMembers>>();
  const forKey = (jwk: JWK): Promise<CertificateMembers> => {
    const kid = jwk.kid ?? '';
    const known = made.get(kid);
    if (known) return known;
    const members = make(jwk);
    made.set(kid, members);
    return members;
  };
  const jwksMiddleware: MiddlewareHandler = async (c, next) => {
    await next();
    if (c.res.status !== 200) return;
    let body: { keys?: unknown };
    try {
      body = (await c.res.clone().json()) as { keys?: unknown };
    } catch {
      return; // a forged body (`fail('jwks', { body })`) passes through untouched
    }
    if (!Array.isArray(body.keys)) return;
    const keys = await Promise.all(
      (body.keys as JWK[]).map(async (key) => (key.kty === 'RSA' ? { ...key, ...(await forKey(key)) } : key)),
    );
    const headers = new Headers(c.res.headers);
    headers.delete('content-length');
    c.res = new Response(JSON.stringify({ keys }), { status: 200, headers });
  };
  return { forKey, jwksMiddleware };
}
