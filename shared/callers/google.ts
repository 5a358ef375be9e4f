// Verifies a Google-signed ID token presented as subject_token (issue 4; protocols.md §B.2–B.3).
// The pattern for every caller verifier: shape checks, then jose with every option pinned, then the
// claims jose does not check.
import { errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Clock } from '../clock.js';
import { BrokerError } from '../errors.js';
import type { CallerVerifier, GooglePrincipal, VerifiedCaller } from './callerVerifier.js';
import { JwksUnavailableError } from './jwksResolver.js';
import { checkSubjectTokenShape } from './jwtShape.js';

/** Both issuer forms Google documents for ID tokens (google-auth-library's verifyIdToken accepts both). */
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'] as const;

export interface GoogleVerifierOptions {
  /** The broker's own audience; the token's `aud` must be exactly this. */
  audience: string;
  /** Key resolver for Google's JWKS (see jwksResolver.ts). */
  keys: JWTVerifyGetKey;
  clock: Clock;
  /** Tolerance for `exp`, `nbf` and `iat`, in seconds. */
  clockSkewSeconds: number;
  /** Largest accepted token, in bytes. */
  maxTokenBytes: number;
  /** Longest accepted `exp − iat`, in seconds; Google issues 1 h tokens. */
  maxLifetimeSeconds: number;
}

const GOOGLE_SUBJECT = /^[0-9]{1,255}$/;
const SERVICE_ACCOUNT_EMAIL = /^[^@\s]+@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$/;

const refuse = (description: string, cause?: unknown): BrokerError =>
  new BrokerError('invalid_grant', 401, description, { cause, detail: { reason: 'caller_token_invalid' } });

/** Builds the `google` caller verifier. */
export function createGoogleVerifier(options: GoogleVerifierOptions): CallerVerifier {
  return {
    issuers: GOOGLE_ISSUERS,
    async verify(token: string): Promise<VerifiedCaller> {
      const { header } = checkSubjectTokenShape(token, { maxBytes: options.maxTokenBytes });
      // Google names the signing key in every ID token; without a `kid`, jose would try whichever
      // key fits, so the outcome would hang on how many keys Google publishes (perf §2.5 #13–14).
      if (typeof header.kid !== 'string' || header.kid === '')
        throw refuse("The subject token's header names no signing key ('kid').");
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, options.keys, {
          issuer: [...GOOGLE_ISSUERS],
          audience: options.audience,
          algorithms: ['RS256'],
          typ: 'JWT',
          requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
          clockTolerance: options.clockSkewSeconds,
          maxTokenAge: options.maxLifetimeSeconds + options.clockSkewSeconds,
          currentDate: new Date(options.clock.now()),
        }));
      } catch (error) {
        throw mapVerifyError(error, options.audience);
      }
      return { principal: principalOf(payload, options), expiresAt: payload.exp as number };
    },
  };
}

function principalOf(payload: JWTPayload, options: GoogleVerifierOptions): GooglePrincipal {
  const { exp, iat, sub, aud } = payload as Required<Pick<JWTPayload, 'exp' | 'iat' | 'sub' | 'aud'>>;
  // jose accepts an `aud` array that contains ours; a Google ID token has exactly one audience.
  if (Array.isArray(aud) && aud.length !== 1) throw refuse('The subject token names more than one audience.');
  if (exp - iat > options.maxLifetimeSeconds) {
    throw refuse(`The subject token's lifetime is longer than ${options.maxLifetimeSeconds} seconds.`);
  }
  if (typeof sub !== 'string' || !GOOGLE_SUBJECT.test(sub))
    throw refuse("The subject token's 'sub' is not a Google unique id.");
  const email = payload.email;
  if (email !== undefined && (typeof email !== 'string' || payload.email_verified !== true)) {
    throw refuse("The subject token's 'email' is not verified.");
  }
  // The service account's home project, from its email: the identity's project whatever VM or
  // platform runs it (google.compute_engine.project_id names where it runs, which can differ).
  const projectId = typeof email === 'string' ? SERVICE_ACCOUNT_EMAIL.exec(email)?.[1] : undefined;
  return {
    kind: 'google',
    issuer: payload.iss as string,
    subject: sub,
    email: email as string | undefined,
    projectId,
  };
}

/** jose errors become `invalid_grant` keyed on `err.code`; the message never carries the payload. */
function mapVerifyError(error: unknown, audience: string): BrokerError {
  if (error instanceof JwksUnavailableError) {
    return new BrokerError(
      'temporarily_unavailable',
      503,
      "Google's signing keys could not be fetched to verify the subject token; retry later.",
      { cause: error, retryAfterSeconds: 5, detail: { reason: 'caller_keys_unavailable' } },
    );
  }
  // jose reports an `iat` older than maxTokenAge as JWTExpired too, though `exp` may be hours away.
  if (error instanceof errors.JWTExpired && error.claim === 'iat')
    return refuse('The subject token was issued in the future or is too old.', error);
  if (error instanceof errors.JWTExpired) return refuse('The subject token has expired.', error);
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (error.reason !== 'check_failed')
      return refuse(`The subject token's '${claim}' claim is missing or invalid.`, error);
    if (claim === 'aud')
      return refuse(`The subject token's audience is not this broker's audience (${audience}).`, error);
    if (claim === 'iss') return refuse('The subject token was not issued by Google.', error);
    if (claim === 'iat') return refuse('The subject token was issued in the future or is too old.', error);
    if (claim === 'nbf') return refuse('The subject token is not valid yet.', error);
    return refuse(`The subject token's '${claim}' claim is missing or invalid.`, error);
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return refuse('The subject token uses an algorithm that is not allowed.', error);
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return refuse('The subject token is signed with an unknown key.', error);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return refuse("The subject token's signature does not verify.", error);
  // jose throws a TypeError, not a JOSEError, for weak keys (perf-reliability.md §2.5 #61).
  if (error instanceof errors.JOSEError || error instanceof TypeError)
    return refuse('The subject token is not a valid JWT.', error);
  return error instanceof BrokerError ? error : refuse('The subject token could not be verified.', error);
}
