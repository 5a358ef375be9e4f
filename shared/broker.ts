// Production wiring, in one place: configuration, policy, verifiers, sources, the Entra client and
// the cache are built once per process and reused by every warm invocation (style.md, Layout). Each token
// source is imported only when the policy uses it: their SDKs (google-auth-library, the AWS clients,
// gRPC) are most of a cold start's module loading.
import { createCallerVerifiers } from './callers/fromConfig.js';
import { type Clock, systemClock } from './clock.js';
import {
  type AwsSourceSettings,
  awsSourceSettings,
  type BrokerConfig,
  ConfigError,
  loadConfig,
} from './config.js';
import { createEntraClient, type EntraToken } from './exchange/entraClient.js';
import type { ExchangeDependencies } from './exchange/exchangeToken.js';
import { RecentTargets } from './exchange/refreshTokens.js';
import type { SharedTier } from './exchange/sharedTier.js';
import { type TargetTokenDependencies, targetToken } from './exchange/targetToken.js';
import { TokenCache } from './exchange/tokenCache.js';
import { Keyring, parseKeyringSetting } from './exchange/tokenSeal.js';
import { type LogTarget, logEvent } from './log.js';
import { loadPolicyFile, type Policy, PolicyError } from './policy.js';
import type { TokenPublisher } from './sinks/publisher.js';
import type { TokenSource } from './sources/tokenSource.js';

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
  const missing = [...sourceNames].filter((name) => !sources.has(name));
  if (missing.length > 0)
    throw new PolicyError(missing.map((name) => `token source ${name} is not available`));

  const shared = await createSharedTier(config, clock, log);
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
  const tokens = {
    sources,
    entra,
    cache,
    tokenExchangeAudience: config.TOKEN_EXCHANGE_AUDIENCE,
    ...(shared ? { shared } : {}),
  };
  const publisher = await createPublisher(config, policy, clock, tokens);
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
      callerTokenMaxBytes: config.CALLER_TOKEN_MAX_BYTES,
      tokenExchangeAudience: config.TOKEN_EXCHANGE_AUDIENCE,
    },
  };
}

/**
 * The shared cache tier when storage and a key are configured; without a key there is none, and the log
 * says so: a token is never stored in clear.
 */
async function createSharedTier(
  config: BrokerConfig,
  clock: Clock,
  log: LogTarget,
): Promise<SharedTier | undefined> {
  const connectionString = config.TOKEN_SHARED_CACHE_CONNECTION ?? config.AzureWebJobsStorage;
  if (!connectionString) {
    logEvent(log, 'warn', 'shared_cache.disabled', { reason: 'no_storage_connection' });
    return undefined;
  }
  if (!config.TOKEN_CACHE_KEYS) {
    logEvent(log, 'warn', 'shared_cache.disabled', { reason: 'no_encryption_key' });
    return undefined;
  }
  const [{ createBlobStore }, { SharedTier: Tier }] = await Promise.all([
    import('./exchange/blobStore.js'),
    import('./exchange/sharedTier.js'),
  ]);
  const keyring = new Keyring(parseKeyringSetting(config.TOKEN_CACHE_KEYS));
  logEvent(log, 'info', 'shared_cache.enabled', {
    container: config.TOKEN_SHARED_CACHE_CONTAINER,
    keySource: 'setting',
    keyVersions: keyring.versions,
    leaseSeconds: config.TOKEN_LEASE_SECONDS,
  });
  return new Tier({
    store: createBlobStore({
      connectionString,
      container: config.TOKEN_SHARED_CACHE_CONTAINER,
      timeoutMs: config.STORAGE_TIMEOUT_MS,
    }),
    keyring,
    clock,
    leaseSeconds: config.TOKEN_LEASE_SECONDS,
    downForMs: config.SHARED_CACHE_RETRY_SECONDS * 1000,
  });
}

/**
 * The Key Vault publisher when a target declares `publish`: the broker signs in to Key Vault as the
 * policy's BROKER_VAULT_TARGET, through its own federation and cache.
 */
async function createPublisher(
  config: BrokerConfig,
  policy: Policy,
  clock: Clock,
  tokens: TargetTokenDependencies & { cache: TokenCache<EntraToken> },
): Promise<TokenPublisher | undefined> {
  const publishing = [...policy.targets.values()]
    .filter((target) => target.publish)
    .map((target) => target.name);
  if (publishing.length === 0) return undefined;
  const name = config.BROKER_VAULT_TARGET;
  if (!name)
    throw new ConfigError([
      `BROKER_VAULT_TARGET is required: target ${publishing.join(', ')} publishes to Key Vault`,
    ]);
  const vaultTarget = policy.targets.get(name);
  if (!vaultTarget) throw new PolicyError([`BROKER_VAULT_TARGET names no target "${name}"`]);
  const { createKeyVaultPublisher } = await import('./sinks/keyVault.js');
  return createKeyVaultPublisher({
    clock,
    challengeVerification: config.KEY_VAULT_CHALLENGE_VERIFICATION === 'on',
    timeoutMs: config.KEY_VAULT_TIMEOUT_MS,
    async getToken(scope, log) {
      if (!vaultTarget.scopes.includes(scope))
        throw new PolicyError([
          `BROKER_VAULT_TARGET ${name} does not list the scope Key Vault asks for (${scope})`,
        ]);
      const { key, fetcher } = targetToken(
        tokens,
        vaultTarget,
        scope,
        log,
        tokens.cache.options.refreshBeforeMs,
      );
      return (await tokens.cache.get(key, fetcher)).token;
    },
  });
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

/** The process's broker, built on first use (start-up decisions logged to `log`); a failed build is retried on the next call. */
export function getBroker(log?: LogTarget): Promise<Broker> {
  if (!current) {
    current = createBroker(process.env, systemClock, log).catch((error: unknown) => {
      current = undefined;
      throw error;
    });
  }
  return current;
}
