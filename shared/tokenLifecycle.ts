// Wiring of the token lifecycle's optional parts (issue 10), each imported only when configured: the
// broker's own Key Vault access (BROKER_VAULT_TARGET), the shared cache tier in Azure Storage with its
// keys from a setting or from Key Vault, and the Key Vault publisher.
import type { Clock } from './clock.js';
import { type BrokerConfig, ConfigError } from './config.js';
import type { EntraToken } from './exchange/entraClient.js';
import type { SharedTier } from './exchange/sharedTier.js';
import { type TargetTokenDependencies, targetToken } from './exchange/targetToken.js';
import type { TokenCache } from './exchange/tokenCache.js';
import { Keyring, parseKeyringSetting } from './exchange/tokenSeal.js';
import { type LogTarget, logEvent } from './log.js';
import { type Policy, PolicyError } from './policy.js';
import type { VaultAccess } from './sinks/keyVault.js';
import type { TokenPublisher } from './sinks/publisher.js';

/**
 * The broker's Key Vault clients when something needs them (a target that publishes, or the shared
 * tier's key in Key Vault): signed in as BROKER_VAULT_TARGET through the broker's own federation and cache.
 */
export async function createVaultAccess(
  config: BrokerConfig,
  policy: Policy,
  tokens: TargetTokenDependencies & { cache: TokenCache<EntraToken> },
): Promise<VaultAccess | undefined> {
  const needs = [
    ...[...policy.targets.values()]
      .filter((target) => target.publish)
      .map((target) => `target ${target.name} publishes to Key Vault`),
    ...(config.TOKEN_CACHE_KEY_SECRET_URL ? ['TOKEN_CACHE_KEY_SECRET_URL is set'] : []),
  ];
  if (needs.length === 0) return undefined;
  const name = config.BROKER_VAULT_TARGET;
  if (!name) throw new ConfigError([`BROKER_VAULT_TARGET is required: ${needs.join('; ')}`]);
  const vaultTarget = policy.targets.get(name);
  if (!vaultTarget) throw new PolicyError([`BROKER_VAULT_TARGET names no target "${name}"`]);
  const { VaultAccess: Access } = await import('./sinks/keyVault.js');
  return new Access({
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

/**
 * The shared cache tier when storage and a key source are configured; without a key there is none, and
 * the log says so: a token is never stored in clear. Keys in Key Vault are loaded now and on every timer
 * run; while they cannot be loaded the tier stays off.
 */
export async function createSharedTier(
  config: BrokerConfig,
  clock: Clock,
  log: LogTarget,
  vault: VaultAccess | undefined,
): Promise<SharedTier | undefined> {
  const connectionString = config.TOKEN_SHARED_CACHE_CONNECTION ?? config.AzureWebJobsStorage;
  if (!connectionString) {
    logEvent(log, 'warn', 'shared_cache.disabled', { reason: 'no_storage_connection' });
    return undefined;
  }
  const secretUrl = config.TOKEN_CACHE_KEY_SECRET_URL;
  if (!config.TOKEN_CACHE_KEYS && !secretUrl) {
    logEvent(log, 'warn', 'shared_cache.disabled', { reason: 'no_encryption_key' });
    return undefined;
  }
  const [{ createBlobStore }, { SharedTier: Tier }] = await Promise.all([
    import('./exchange/blobStore.js'),
    import('./exchange/sharedTier.js'),
  ]);
  let keys: { keyring: Keyring } | { loadKeys: (runLog: LogTarget) => Promise<Keyring> };
  if (config.TOKEN_CACHE_KEYS) keys = { keyring: new Keyring(parseKeyringSetting(config.TOKEN_CACHE_KEYS)) };
  else {
    // createVaultAccess made sure the vault identity is configured when a key secret is.
    const { loadKeyringFromVault } = await import('./sinks/keyVault.js');
    const [access, url] = [vault as VaultAccess, secretUrl as string];
    keys = { loadKeys: (runLog) => loadKeyringFromVault(access, url, runLog, clock) };
  }
  const tier = new Tier({
    store: createBlobStore({
      connectionString,
      container: config.TOKEN_SHARED_CACHE_CONTAINER,
      timeoutMs: config.STORAGE_TIMEOUT_MS,
    }),
    ...keys,
    clock,
    leaseSeconds: config.TOKEN_LEASE_SECONDS,
    downForMs: config.SHARED_CACHE_RETRY_SECONDS * 1000,
  });
  await tier.reloadKeys(log);
  logEvent(
    log,
    tier.keyVersions.length > 0 ? 'info' : 'warn',
    tier.keyVersions.length > 0 ? 'shared_cache.enabled' : 'shared_cache.disabled',
    {
      container: config.TOKEN_SHARED_CACHE_CONTAINER,
      keySource: config.TOKEN_CACHE_KEYS ? 'setting' : 'key_vault',
      keyVersions: tier.keyVersions,
      leaseSeconds: config.TOKEN_LEASE_SECONDS,
      ...(tier.keyVersions.length > 0 ? {} : { reason: 'key_unavailable' }),
    },
  );
  return tier;
}

/** The Key Vault publisher when a target declares `publish`. */
export async function createPublisher(
  policy: Policy,
  clock: Clock,
  vault: VaultAccess | undefined,
): Promise<TokenPublisher | undefined> {
  if (!vault || ![...policy.targets.values()].some((target) => target.publish)) return undefined;
  const { createKeyVaultPublisher } = await import('./sinks/keyVault.js');
  return createKeyVaultPublisher(vault, clock);
}
