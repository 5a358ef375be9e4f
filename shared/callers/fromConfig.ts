// Wiring of the caller verifiers from configuration and policy (part of the production wiring that
// broker.ts starts): Google always, each other caller path only when a policy rule names its kind.
import type { Clock } from '../clock.js';
import { type BrokerConfig, ConfigError } from '../config.js';
import type { Policy } from '../policy.js';
import { createAwsIamVerifier } from './awsIam.js';
import { createAwsWebIdentityVerifier } from './awsWebIdentity.js';
import type { CallerVerifier, SignedRequestVerifier } from './callerVerifier.js';
import { createCognitoVerifier } from './cognitoCaller.js';
import { createGoogleVerifier } from './google.js';
import { createJwksResolver } from './jwksResolver.js';

export interface CallerVerifiers {
  verifiers: CallerVerifier[];
  signedRequests?: SignedRequestVerifier;
}

/** Builds the verifiers the policy needs; throws ConfigError when a named kind lacks its settings. */
export function createCallerVerifiers(config: BrokerConfig, policy: Policy, clock: Clock): CallerVerifiers {
  const keys = (url: string) =>
    createJwksResolver(new URL(url), {
      cacheMaxAgeMs: config.JWKS_CACHE_MAX_AGE_SECONDS * 1000,
      cooldownMs: config.JWKS_COOLDOWN_SECONDS * 1000,
      timeoutMs: config.JWKS_TIMEOUT_MS,
      staleMaxAgeMs: config.JWKS_STALE_MAX_AGE_SECONDS * 1000,
      clock,
    });
  const common = {
    clock,
    clockSkewSeconds: config.CALLER_CLOCK_SKEW_SECONDS,
    maxTokenBytes: config.CALLER_TOKEN_MAX_BYTES,
  };
  const uses = (kind: Parameters<Policy['callerKinds']['has']>[0]) => policy.callerKinds.has(kind);
  const problems: string[] = [];
  if (uses('aws-web-identity') && !config.AWS_WEB_IDENTITY_ISSUERS)
    problems.push('AWS_WEB_IDENTITY_ISSUERS is required: the policy names aws-web-identity callers');
  if (uses('cognito') && !config.COGNITO_CALLER_POOL_IDS)
    problems.push('COGNITO_CALLER_POOL_IDS is required: the policy names cognito callers');
  if (problems.length > 0) throw new ConfigError(problems);

  const verifiers: CallerVerifier[] = [
    createGoogleVerifier({
      ...common,
      audience: config.BROKER_AUDIENCE,
      keys: keys(config.GOOGLE_JWKS_URL),
      maxLifetimeSeconds: config.GOOGLE_TOKEN_MAX_LIFETIME_SECONDS,
    }),
  ];
  if (uses('aws-web-identity') && config.AWS_WEB_IDENTITY_ISSUERS) {
    verifiers.push(
      createAwsWebIdentityVerifier({
        ...common,
        audience: config.BROKER_AUDIENCE,
        issuers: config.AWS_WEB_IDENTITY_ISSUERS.map((entry) => ({ ...entry, keys: keys(entry.jwksUrl) })),
        maxLifetimeSeconds: config.AWS_WEB_IDENTITY_TOKEN_MAX_LIFETIME_SECONDS,
      }),
    );
  }
  if (uses('cognito') && config.COGNITO_CALLER_POOL_IDS) {
    verifiers.push(
      createCognitoVerifier({
        ...common,
        identityPools: config.COGNITO_CALLER_POOL_IDS,
        keys: keys(config.COGNITO_JWKS_URL),
        maxLifetimeSeconds: config.COGNITO_CALLER_TOKEN_MAX_LIFETIME_SECONDS,
      }),
    );
  }
  return {
    verifiers,
    ...(uses('aws-iam')
      ? {
          signedRequests: createAwsIamVerifier({
            ...common,
            audience: config.BROKER_AUDIENCE,
            stsEndpoints: config.AWS_STS_ENDPOINTS,
            timeoutMs: config.AWS_STS_TIMEOUT_MS,
          }),
        }
      : {}),
  };
}
