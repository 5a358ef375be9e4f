// Production wiring, in one place: configuration, policy, verifiers, sources, the Entra client and
// the cache are built once per process and reused by every warm invocation (style.md, Layout). Each token
// source is imported only when the policy uses it: their SDKs (the AWS clients, gRPC, Key Vault) are most
// of a cold start's module loading.
import { createCallerVerifiers } from './callers/fromConfig.js';
import { VerifiedTokenCache } from './callers/verifiedTokenCache.js';
import { type Clock, systemClock } from './clock.js';
import {
  type AwsSourceSettings,
  awsSourceSettings,
  type BrokerConfig,
  ConfigError,
  loadConfig,
  managedIdentitySettings,
} from './config.js';
import { createEntraClient, type EntraToken } from './exchange/entraClient.js';
import type { ExchangeDependencies } from './exchange/exchangeToken.js';
import { RecentTargets } from './exchange/refreshTokens.js';
import type { TargetTokenDependencies } from './exchange/targetToken.js';
import { TokenCache } from './exchange/tokenCache.js';
import type { LogTarget } from './log.js';
import { loadPolicyFile, PolicyError } from './policy.js';
import type { TokenSource } from './sources/tokenSource.js';
import { createPublisher, createSharedTier, createVaultAccess } from './tokenLifecycle.js';

export interface Broker {
  exchange: ExchangeDependencies;
  config: BrokerConfig;
}

/**
 * Builds the broker from an environment; throws ConfigError or PolicyError naming what is wrong. `log`
 * hears what start-up decided (the shared cache tier on or off, and why).
 */
export async function createBroker(
  env: NodeJS.ProcessEnv = process.env,
  clock: Clock = systemClock,
  log: LogTarget = console,
): Promise<Broker> {
  const config = loadConfig(env);
  const policy = await loadPolicyFile(config.BROKER_POLICY_FILE);
  const sources = new Map<string, TokenSource>();
  const sourceNames = new Set([...policy.targets.values()].map((target) => target.source));
  if (sourceNames.has('gcpMetadata')) {
    const { createGcpMetadataSource } = await import('./sources/gcpMetadata.js');
    sources.set(
      'gcpMetadata',
      createGcpMetadataSource({
        audience: config.TOKEN_EXCHANGE_AUDIENCE,
        serviceAccount: config.GCP_SERVICE_ACCOUNT,
        timeoutMs: config.SOURCE_TIMEOUT_MS,
        clock,
      }),
    );
  }
  if (sourceNames.has('aws'))
    sources.set('aws', await createAwsSource(awsSourceSettings(config), config, clock));
  if (sourceNames.has('spiffe')) {
    if (!config.SPIFFE_ENDPOINT_SOCKET)
      throw new ConfigError(['SPIFFE_ENDPOINT_SOCKET is required: a policy target uses source "spiffe"']);
    const { createSpiffeSource } = await import('./sources/spiffe.js');
    sources.set(
      'spiffe',
      createSpiffeSource({
        endpoint: config.SPIFFE_ENDPOINT_SOCKET,
        audience: config.TOKEN_EXCHANGE_AUDIENCE,
        timeoutMs: config.SOURCE_TIMEOUT_MS,
        clock,
      }),
    );
  }
  if (sourceNames.has('tokenFile')) {
    if (!config.AZURE_FEDERATED_TOKEN_FILE)
      throw new ConfigError([
        'AZURE_FEDERATED_TOKEN_FILE is required: a policy target uses source "tokenFile"',
      ]);
    const { createTokenFileSource } = await import('./sources/tokenFile.js');
    sources.set('tokenFile', createTokenFileSource({ path: config.AZURE_FEDERATED_TOKEN_FILE, clock }));
  }
  if (sourceNames.has('managedIdentity')) {
    const settings = managedIdentitySettings(config);
    const { createManagedIdentitySource } = await import('./sources/managedIdentity.js');
    sources.set(
      'managedIdentity',
      createManagedIdentitySource({
        ...settings,
        resource: config.TOKEN_EXCHANGE_AUDIENCE,
        timeoutMs: config.SOURCE_TIMEOUT_MS,
        clock,
      }),
    );
  }
  const missing = [...sourceNames].filter((name) => !sources.has(name));
  if (missing.length > 0)
    throw new PolicyError(missing.map((name) => `token source ${name} is not available`));

  const cache = new TokenCache<EntraToken>({
    clock,
    refreshBeforeMs: config.TOKEN_REFRESH_BEFORE_EXPIRY_SECONDS * 1000,
    minRemainingMs: config.TOKEN_MIN_REMAINING_SECONDS * 1000,
    maxEntries: config.TOKEN_CACHE_MAX_ENTRIES,
  });
  const entra = createEntraClient({
    authorityHost: config.ENTRA_AUTHORITY_HOST,
    timeoutMs: config.ENTRA_TIMEOUT_MS,
    retryAfterMaxSeconds: config.ENTRA_RETRY_AFTER_MAX_SECONDS,
    clock,
  });
  const tokens: TargetTokenDependencies & { cache: TokenCache<EntraToken> } = {
    sources,
    entra,
    cache,
    tokenExchangeAudience: config.TOKEN_EXCHANGE_AUDIENCE,
  };
  const vault = await createVaultAccess(config, policy, tokens);
  const shared = await createSharedTier(config, clock, log, vault);
  if (shared) tokens.shared = shared;
  const publisher = await createPublisher(policy, clock, vault);
  return {
    config,
    exchange: {
      ...(await createCallerVerifiers(config, policy, clock)),
      policy,
      sources,
      entra,
      recent: new RecentTargets(clock),
      ...(shared ? { shared } : {}),
      ...(publisher ? { publisher } : {}),
      cache,
      clock,
      ...(config.VERIFIED_TOKEN_CACHE_MAX_ENTRIES > 0
        ? { verifiedTokens: new VerifiedTokenCache(clock, config.VERIFIED_TOKEN_CACHE_MAX_ENTRIES) }
        : {}),
      callerTokenMaxBytes: config.CALLER_TOKEN_MAX_BYTES,
      tokenExchangeAudience: config.TOKEN_EXCHANGE_AUDIENCE,
    },
  };
}

/** The broker's own AWS identity, through the source AWS_TOKEN_SOURCE chose. */
async function createAwsSource(
  settings: AwsSourceSettings,
  config: BrokerConfig,
  clock: Clock,
): Promise<TokenSource> {
  if (settings.kind === 'webIdentity') {
    const { createAwsWebIdentitySource } = await import('./sources/awsWebIdentity.js');
    return createAwsWebIdentitySource({
      audience: config.TOKEN_EXCHANGE_AUDIENCE,
      region: settings.region,
      durationSeconds: settings.durationSeconds,
      timeoutMs: config.SOURCE_TIMEOUT_MS,
      clock,
    });
  }
  const { createCognitoSource } = await import('./sources/cognito.js');
  return createCognitoSource({
    region: settings.region,
    flow: settings.flow,
    timeoutMs: config.SOURCE_TIMEOUT_MS,
    clock,
  });
}

let current: Promise<Broker> | undefined;
/** The broker once built: a request then needs no wait for it. */
let built: Broker | undefined;

/** The process's broker when it is built already; undefined before (then `getBroker`). */
export const builtBroker = (): Broker | undefined => built;

/** The process's broker, built on first use (start-up decisions logged to `log`); a failed build is retried on the next call. */
export function getBroker(log?: LogTarget): Promise<Broker> {
  if (!current) {
    current = createBroker(process.env, systemClock, log).then(
      (broker) => {
        built = broker;
        return broker;
      },
      (error: unknown) => {
        current = undefined;
        throw error;
      },
    );
  }
  return current;
}
