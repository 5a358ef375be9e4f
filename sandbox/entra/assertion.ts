// Structural checks of the federated client assertion before any key is fetched: JWT shape, `typ`, `alg`,
// required claims, lifetime (70023) and validity window (700024) (protocols.md §A.5, §A.6; RFC 7523 §3).
import { type AadstsCode, dotnetIsoTime } from './aadsts.js';
import type { TokenPolicy } from './options.js';

/** A refusal: the AADSTS code and the parameters of its message. Never carries the assertion itself. */
export interface Refusal {
  code: AadstsCode;
  params?: Readonly<Record<string, string | number>>;
}

/** The assertion after the structural checks. No signature has been verified at this point. */
export interface DecodedAssertion {
  header: Readonly<Record<string, unknown>>;
  claims: Readonly<Record<string, unknown>>;
  alg: string;
  kid: string | undefined;
  iss: string;
  sub: string;
  /** `aud` as a list (RFC 7519 §4.1.3 allows a string or an array). */
  aud: readonly string[];
  /** Epoch seconds. */
  exp: number;
  /** Epoch seconds; undefined when absent. */
  iat: number | undefined;
  /** Epoch seconds; undefined when absent. */
  nbf: number | undefined;
}

/** Lifetime cap of an external assertion: 1 day 1 hour, `1.01:00:00` in 70023's text. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 25 * 3600;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  if (!BASE64URL.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const nonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const numeric = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

const malformed: Refusal = { code: 50027 };

/**
 * Decodes the compact JWS and applies, in order: shape (50027), `typ` (5002727, per `policy.typCheck`),
 * `alg` (5002730), required claims `iss`/`sub`/`aud`/`exp` (50027), then `kid` (5002723).
 */
export function decodeAssertion(
  raw: string,
  policy: TokenPolicy,
): { ok: true; assertion: DecodedAssertion } | { ok: false; refusal: Refusal } {
  const parts = raw.split('.');
  if (parts.length !== 3 || !parts[2] || !BASE64URL.test(parts[2])) return { ok: false, refusal: malformed };
  const header = decodeSegment(parts[0] ?? '');
  const claims = decodeSegment(parts[1] ?? '');
  if (!header || !claims || !nonEmptyString(header.alg)) return { ok: false, refusal: malformed };

  if (policy.typCheck !== 'off') {
    const typ = header.typ;
    const present = typ !== undefined;
    const allowed = typeof typ === 'string' && policy.allowedTypValues.includes(typ);
    if ((present && !allowed) || (!present && policy.typCheck === 'required')) {
      return { ok: false, refusal: { code: 5002727 } };
    }
  }
  // RFC 8725 §3.1: the verifier names the algorithms; `none` and HMAC never reach a key.
  if (!policy.allowedAlgorithms.includes(header.alg)) return { ok: false, refusal: { code: 5002730 } };

  const aud = typeof claims.aud === 'string' ? [claims.aud] : claims.aud;
  const audOk = Array.isArray(aud) && aud.length > 0 && aud.every(nonEmptyString);
  if (!nonEmptyString(claims.iss) || !nonEmptyString(claims.sub) || !audOk || !numeric(claims.exp)) {
    return { ok: false, refusal: malformed };
  }
  if (
    (claims.iat !== undefined && !numeric(claims.iat)) ||
    (claims.nbf !== undefined && !numeric(claims.nbf))
  ) {
    return { ok: false, refusal: malformed };
  }
  const kid = nonEmptyString(header.kid) ? header.kid : undefined;
  if (!kid && policy.requireKid) return { ok: false, refusal: { code: 5002723 } };

  return {
    ok: true,
    assertion: {
      header,
      claims,
      alg: header.alg,
      kid,
      iss: claims.iss,
      sub: claims.sub,
      aud: aud as string[],
      exp: claims.exp,
      iat: claims.iat as number | undefined,
      nbf: claims.nbf as number | undefined,
    },
  };
}

/**
 * Lifetime, then validity window, at `nowMs`: `exp − iat` above 25 h (a missing `iat` counts as 0, as
 * observed) → 70023; expired or not yet valid beyond the configured skew → 700024.
 */
export function checkValidity(
  assertion: DecodedAssertion,
  policy: TokenPolicy,
  nowMs: number,
): Refusal | undefined {
  const iat = assertion.iat ?? 0;
  if (assertion.exp - iat > MAX_ASSERTION_LIFETIME_SECONDS) {
    return { code: 70023, params: { iat, exp: assertion.exp } };
  }
  const now = nowMs / 1000;
  const skew = policy.clockSkewSeconds;
  const expired = now >= assertion.exp + skew;
  const early = assertion.nbf !== undefined && now + skew < assertion.nbf;
  if (expired || early) {
    return {
      code: 700024,
      params: {
        now: dotnetIsoTime(nowMs),
        nbf: dotnetIsoTime((assertion.nbf ?? 0) * 1000),
        exp: dotnetIsoTime(assertion.exp * 1000),
      },
    };
  }
  return undefined;
}
