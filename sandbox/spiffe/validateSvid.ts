// JWT-SVID validation as SPIRE's agent does it for ValidateJWTSVID: the checks, their order and error texts.
// Sources: spiffe/spire pkg/common/jwtsvid/validate.go (ValidateToken) and signature.go, over go-jose v4.1.4
// (jws.go parseSignedCompact/sanitized, signing.go DetachedVerify, jwt/validation.go, jwt/errors.go).
import {
  createPublicKey,
  constants as cryptoConstants,
  type JsonWebKey,
  verify as verifySignature,
} from 'node:crypto';
import type { JWK } from 'jose';
import { parseSpiffeId } from './spiffeId.js';

/** A JWT-SVID SPIRE would refuse; `message` is the text the agent puts in its InvalidArgument status. */
export class SvidValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SvidValidationError';
  }
}

/** The JWT keys the agent holds, by trust domain name (`example.org`). */
export type SvidKeyStore = ReadonlyMap<string, { keys: readonly JWK[] }>;

export interface ValidatedSvid {
  spiffeId: string;
  trustDomain: string;
  /** The whole payload as verified (numbers as JSON numbers). */
  claims: Record<string, unknown>;
}

// signature.go AllowedSignatureAlgorithms, in its order (the order shows in the error text).
const ALLOWED = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
// The curve each ES algorithm needs, as node:crypto names it (go-jose refuses a key of another size).
const CURVES: Readonly<Record<string, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};
// go-jose jwt.DefaultLeeway, which Claims.Validate applies to nbf, exp and iat.
const LEEWAY_SECONDS = 60;

const CRYPTO_FAILURE = 'go-jose/go-jose: error in cryptographic primitive';
const fail = (message: string): never => {
  throw new SvidValidationError(message);
};
// Go's %q of a string or a []string; JSON quoting matches it for printable ASCII.
const goQuote = (value: string | readonly string[]): string =>
  typeof value === 'string' ? JSON.stringify(value) : `[${value.map((v) => JSON.stringify(v)).join(' ')}]`;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Go's RawURLEncoding decoder: no padding, only the URL-safe alphabet. */
function decodeSegment(segment: string): Buffer {
  const bad = segment.search(/[^A-Za-z0-9_-]/);
  // UNCONFIRMED: the offset Go reports for a length of 4n+1 (taken here as the length).
  if (bad >= 0 || segment.length % 4 === 1) {
    fail(`unable to parse JWT token: illegal base64 data at input byte ${bad >= 0 ? bad : segment.length}`);
  }
  return Buffer.from(segment, 'base64url');
}

function parseJson(bytes: Buffer, prefix: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    // UNCONFIRMED: Go's encoding/json gives "invalid character ..." with the offending byte.
    return fail(`${prefix}invalid character in JSON`);
  }
}

/** jwt.Claims field types: string claims, Audience (string or array of strings), NumericDate (a number). */
function checkRegisteredClaims(claims: Record<string, unknown>): string[] {
  for (const name of ['iss', 'sub', 'jti']) {
    const value = claims[name];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      const kind = Array.isArray(value) ? 'array' : typeof value === 'object' ? 'object' : typeof value;
      fail(`json: cannot unmarshal ${kind} into Go struct field Claims.${name} of type string`);
    }
  }
  for (const name of ['exp', 'nbf', 'iat']) {
    const value = claims[name];
    if (value !== undefined && value !== null && typeof value !== 'number') {
      fail('go-jose/go-jose/jwt: expected number value to unmarshal NumericDate');
    }
  }
  const aud = claims.aud;
  if (aud === undefined) return [];
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud) && aud.every((v) => typeof v === 'string')) return aud as string[];
  return fail('go-jose/go-jose/jwt: expected string or array value to unmarshal to Audience');
}

/** Verifies a JWS signature over `input` with one JWK, as go-jose's verifiers do for `alg`. */
function signatureVerifies(alg: string, jwk: JWK, input: Buffer, signature: Buffer): boolean {
  try {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    const hash = `sha${alg.slice(2)}`;
    if (alg.startsWith('ES')) {
      if (key.asymmetricKeyDetails?.namedCurve !== CURVES[alg]) return false;
      return verifySignature(hash, input, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    if (key.asymmetricKeyType !== 'rsa') return false;
    if (alg.startsWith('PS')) {
      // asymmetric.go: rsa.VerifyPSS with nil options, so any salt length is accepted (PSSSaltLengthAuto).
      const saltLength = cryptoConstants.RSA_PSS_SALTLEN_AUTO;
      return verifySignature(
        hash,
        input,
        { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength },
        signature,
      );
    }
    return verifySignature(hash, input, key, signature);
  } catch {
    return false;
  }
}

/**
 * Validates a JWT-SVID for `audience` against the keys of the trust domain named by its `sub`, in the order
 * and with the messages of SPIRE's `jwtsvid.ValidateToken`; throws a `SvidValidationError`. `nowSeconds`
 * is the validation time; nbf, exp and iat get go-jose's one-minute leeway.
 */
export function validateJwtSvid(
  token: string,
  keyStore: SvidKeyStore,
  audience: string,
  nowSeconds: number,
): ValidatedSvid {
  const parts = token.split('.');
  if (parts.length !== 3) {
    fail('unable to parse JWT token: go-jose/go-jose: compact JWS format must have three parts');
  }
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  // parseSignedCompact decodes all three segments before it reads the header's JSON.
  const headerBytes = decodeSegment(headerPart);
  const payloadBytes = decodeSegment(payloadPart);
  const signature = decodeSegment(signaturePart);
  const header = parseJson(headerBytes, 'unable to parse JWT token: ');
  if (!isObject(header)) return fail('unable to parse JWT token: json: cannot unmarshal into a JWS header');
  const alg = typeof header.alg === 'string' ? header.alg : '';
  if (!ALLOWED.includes(alg)) {
    fail(
      `unable to parse JWT token: unexpected signature algorithm ${goQuote(alg)}; expected ${goQuote(ALLOWED)}`,
    );
  }
  const kid = typeof header.kid === 'string' ? header.kid : '';
  if (kid === '') fail('token header missing key id');

  // Claims are read unverified first, only to find the trust domain whose keys verify them.
  const claims = parseJson(payloadBytes, '');
  if (!isObject(claims)) return fail('json: cannot unmarshal non-object into Go value of type jwt.Claims');
  const audiences = checkRegisteredClaims(claims);
  const subject = typeof claims.sub === 'string' ? claims.sub : '';
  if (subject === '') fail('token missing subject claim');
  if (typeof claims.exp !== 'number') fail('token missing exp claim');
  let trustDomain = '';
  try {
    trustDomain = parseSpiffeId(subject).trustDomain;
  } catch (error) {
    // The typo "has in invalid" is SPIRE's own (validate.go).
    fail(`token has in invalid subject claim: ${(error as Error).message}`);
  }

  const bundle = keyStore.get(trustDomain);
  if (!bundle) fail(`no keys found for trust domain ${goQuote(trustDomain)}`);
  const jwk = bundle?.keys.find((key) => key.kid === kid);
  if (!jwk) return fail(`public key ${goQuote(kid)} not found in trust domain ${goQuote(trustDomain)}`);

  // go-jose DetachedVerify: a `crit` naming anything but b64 fails before the signature is checked.
  const crit = header.crit;
  if (crit !== undefined && !(Array.isArray(crit) && crit.every((name) => name === 'b64'))) {
    fail('go-jose/go-jose: unsupported critical header');
  }
  // Every verifier failure, including a key of the wrong type for `alg`, becomes ErrCryptoFailure.
  const input = Buffer.from(`${headerPart}.${payloadPart}`);
  if (!signatureVerifies(alg, jwk, input, signature)) fail(CRYPTO_FAILURE);

  // jwt.Claims.ValidateWithLeeway order: audience, nbf, exp, iat.
  if (!audiences.includes(audience)) {
    fail(`expected audience in ${goQuote([audience])} (audience=${goQuote(audiences)})`);
  }
  if (typeof claims.nbf === 'number' && nowSeconds + LEEWAY_SECONDS < claims.nbf) {
    fail('go-jose/go-jose/jwt: validation failed, token not valid yet (nbf)');
  }
  if (nowSeconds - LEEWAY_SECONDS > (claims.exp as number)) fail('token has expired');
  if (typeof claims.iat === 'number' && nowSeconds + LEEWAY_SECONDS < claims.iat) {
    fail('go-jose/go-jose/jwt: validation field, token issued in the future (iat)');
  }
  return { spiffeId: subject, trustDomain, claims };
}
