// Verifies a Google-signed ID token presented as subject_token (issue 4; protocols.md §B.2–B.3): the
// JWT caller pattern (jwtCaller.ts) with Google's issuers, RS256, and its `sub`/`email` claims.
import type { JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import type { CallerVerifier, GooglePrincipal } from './callerVerifier.js';
import { createJwtCallerVerifier, refuseCaller } from './jwtCaller.js';
import type { KeyGetter } from './verifiedTokenCache.js';

/** Both issuer forms Google documents for ID tokens (google-auth-library's verifyIdToken accepts both). */
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'] as const;

export interface GoogleVerifierOptions {
  /** The broker's own audience; the token's `aud` must be exactly this. */
  audience: string;
  /** Key resolver for Google's JWKS (see jwksResolver.ts). */
  keys: KeyGetter;
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

/** Builds the `google` caller verifier: the JWT pattern of jwtCaller.ts with Google's issuers and claims. */
export function createGoogleVerifier(options: GoogleVerifierOptions): CallerVerifier {
  return createJwtCallerVerifier<GooglePrincipal>({
    issuers: GOOGLE_ISSUERS,
    keysFor: () => options.keys,
    audience: options.audience,
    algorithms: ['RS256'],
    typ: ['JWT'],
    issuerName: 'Google',
    maxLifetimeSeconds: options.maxLifetimeSeconds,
    clockSkewSeconds: options.clockSkewSeconds,
    maxTokenBytes: options.maxTokenBytes,
    clock: options.clock,
    principalOf,
  });
}

function principalOf(payload: JWTPayload): GooglePrincipal {
  const sub = payload.sub;
  if (typeof sub !== 'string' || !GOOGLE_SUBJECT.test(sub))
    throw refuseCaller("The subject token's 'sub' is not a Google unique id.");
  const email = payload.email;
  if (email !== undefined && (typeof email !== 'string' || payload.email_verified !== true)) {
    throw refuseCaller("The subject token's 'email' is not verified.");
  }
  // The service account's home project, from its email: the identity's project whatever VM or
  // platform runs it (google.compute_engine.project_id names where it runs, which can differ).
  const projectId = typeof email === 'string' ? SERVICE_ACCOUNT_EMAIL.exec(email)?.[1] : undefined;
  return { kind: 'google', issuer: payload.iss as string, subject: sub, email, projectId };
}
