// Wiring of the caller verifiers from configuration and policy (part of the production wiring that
// broker.ts starts): Google always, each other caller path only when a policy rule names its kind. The
// two paths with heavy dependencies (aws-iam: an XML parser; Workload API bundles: gRPC) are imported
// only when used, so a broker that needs neither does not load them at cold start.
import type { Clock } from '../clock.js';
import { type BrokerConfig, ConfigError } from '../config.js';
import type { Policy } from '../policy.js';
import { createAwsWebIdentityVerifier } from './awsWebIdentity.js';
import type { CallerVerifier, SignedRequestVerifier } from './callerVerifier.js';
import { createCognitoVerifier } from './cognitoCaller.js';
import { createGitHubVerifier } from './github.js';
import { createGoogleVerifier } from './google.js';
import { createJwksResolver } from './jwksResolver.js';
import { createKubernetesVerifier } from './kubernetes.js';
import { createOidcVerifier } from './oidc.js';
import { createSpiffeVerifier } from './spiffe.js';
import type { SpiffeBundleFeed } from './spiffeBundles.js';

export interface CallerVerifiers {
  verifiers: CallerVerifier[];
  signedRequests?: SignedRequestVerifier;
}

/** Builds the verifiers the policy needs; throws ConfigError when a named kind lacks its settings. */
export async function createCallerVerifiers(
  config: BrokerConfig,
  policy: Policy,
  clock: Clock,
): Promise<CallerVerifiers> {
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
  if (uses('spiffe') && !config.SPIFFE_TRUST_DOMAINS)
    problems.push('SPIFFE_TRUST_DOMAINS is required: the policy names spiffe callers');
  if (
    uses('spiffe') &&
    config.SPIFFE_TRUST_DOMAINS?.some((entry) => entry.workloadApi) &&
    !config.SPIFFE_ENDPOINT_SOCKET
  )
    problems.push('SPIFFE_ENDPOINT_SOCKET is required: a trust domain takes its keys from the Workload API');
  if (uses('kubernetes') && !config.KUBERNETES_ISSUERS)
    problems.push('KUBERNETES_ISSUERS is required: the policy names kubernetes callers');
  if (uses('oidc') && !config.OIDC_ISSUERS)
    problems.push('OIDC_ISSUERS is required: the policy names oidc callers');
  if (problems.length > 0) throw new ConfigError(problems);

  // One stream for every trust domain whose keys come from the Workload API.
  const feed =
    uses('spiffe') && config.SPIFFE_TRUST_DOMAINS?.some((entry) => entry.workloadApi)
      ? (await import('./spiffeBundles.js')).createSpiffeBundleFeed(config.SPIFFE_ENDPOINT_SOCKET as string, {
          firstBundleTimeoutMs: config.JWKS_TIMEOUT_MS,
          keepaliveMs: config.SPIFFE_KEEPALIVE_SECONDS * 1000,
        })
      : undefined;
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
  if (uses('spiffe') && config.SPIFFE_TRUST_DOMAINS) {
    verifiers.push(
      createSpiffeVerifier({
        ...common,
        audience: config.BROKER_AUDIENCE,
        trustDomains: config.SPIFFE_TRUST_DOMAINS.map((entry) => ({
          trustDomain: entry.trustDomain,
          ...(entry.issuer ? { issuer: entry.issuer } : {}),
          keys: entry.jwksUrl ? keys(entry.jwksUrl) : (feed as SpiffeBundleFeed).keysFor(entry.trustDomain),
        })),
        maxLifetimeSeconds: config.SPIFFE_SVID_MAX_LIFETIME_SECONDS,
      }),
    );
  }
  if (uses('kubernetes') && config.KUBERNETES_ISSUERS) {
    verifiers.push(
      createKubernetesVerifier({
        ...common,
        audience: config.BROKER_AUDIENCE,
        clusters: config.KUBERNETES_ISSUERS.map((entry) => ({
          issuer: entry.issuer,
          keys: keys(entry.jwksUrl),
        })),
        maxLifetimeSeconds: config.KUBERNETES_TOKEN_MAX_LIFETIME_SECONDS,
      }),
    );
  }
  if (uses('github')) {
    verifiers.push(
      createGitHubVerifier({
        ...common,
        audience: config.BROKER_AUDIENCE,
        issuer: config.GITHUB_ISSUER,
        keys: keys(config.GITHUB_JWKS_URL),
        maxLifetimeSeconds: config.GITHUB_TOKEN_MAX_LIFETIME_SECONDS,
      }),
    );
  }
  for (const entry of uses('oidc') ? (config.OIDC_ISSUERS ?? []) : []) {
    verifiers.push(
      createOidcVerifier(
        { ...entry, audience: entry.audience ?? config.BROKER_AUDIENCE, keys: keys(entry.jwksUrl) },
        common,
      ),
    );
  }
  // The dispatcher picks a verifier by `iss`: an issuer configured twice would be ambiguous.
  const issuers = verifiers.flatMap((verifier) => verifier.issuers);
  const twice = issuers.filter((issuer, index) => issuers.indexOf(issuer) !== index);
  if (twice.length > 0) throw new ConfigError([`the issuer ${twice[0]} is configured for two caller kinds`]);
  if (!uses('aws-iam')) return { verifiers };
  const { createAwsIamVerifier } = await import('./awsIam.js');
  return {
    verifiers,
    signedRequests: createAwsIamVerifier({
      ...common,
      audience: config.BROKER_AUDIENCE,
      stsEndpoints: config.AWS_STS_ENDPOINTS,
      timeoutMs: config.AWS_STS_TIMEOUT_MS,
    }),
  };
}
