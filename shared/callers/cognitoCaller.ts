// The `cognito` caller verifier (issue 8; protocols.md §C.3): a workload presents an Amazon Cognito
// OpenID token whose `aud` is an identity pool this broker is configured to trust. Guests are refused:
// anyone who knows a pool id that admits guests can get a guest token.
import type { JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import type { CallerVerifier, CognitoPrincipal } from './callerVerifier.js';
import { createJwtCallerVerifier, refuseCaller } from './jwtCaller.js';
import type { KeyGetter } from './verifiedTokenCache.js';

/** Cognito's issuer for OpenID tokens (the commercial partition). */
export const COGNITO_ISSUER = 'https://cognito-identity.amazonaws.com';

export interface CognitoVerifierOptions {
  /** Identity pool ids (`<region>:<guid>`) whose tokens are accepted: the token's `aud`. */
  identityPools: readonly string[];
  keys: KeyGetter;
  maxLifetimeSeconds: number;
  clockSkewSeconds: number;
  maxTokenBytes: number;
  clock: Clock;
}

const IDENTITY_ID = /^[\w-]{1,20}:[0-9a-f-]{36}$/;

/** Builds the verifier. */
export function createCognitoVerifier(options: CognitoVerifierOptions): CallerVerifier {
  return createJwtCallerVerifier<CognitoPrincipal>({
    issuers: [COGNITO_ISSUER],
    keysFor: () => options.keys,
    audience: options.identityPools,
    audienceName: 'an identity pool this broker trusts',
    // Cognito signs with RS512 (observed, protocols.md §C.3); RS256/RS384 are accepted in case that changes.
    algorithms: ['RS256', 'RS384', 'RS512'],
    // Cognito's header says `typ: JWS` (observed, UNCONFIRMED); JWT is accepted too.
    typ: ['JWS', 'JWT'],
    issuerName: 'Cognito',
    maxLifetimeSeconds: options.maxLifetimeSeconds,
    clockSkewSeconds: options.clockSkewSeconds,
    maxTokenBytes: options.maxTokenBytes,
    clock: options.clock,
    principalOf(payload: JWTPayload) {
      const sub = payload.sub;
      if (typeof sub !== 'string' || !IDENTITY_ID.test(sub))
        throw refuseCaller("The subject token's 'sub' is not a Cognito identity id.");
      const amr = payload.amr;
      if (!Array.isArray(amr) || !amr.includes('authenticated'))
        throw refuseCaller('The subject token belongs to an unauthenticated (guest) Cognito identity.');
      const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
      return { kind: 'cognito', subject: sub, identityPool: aud as string };
    },
  });
}
