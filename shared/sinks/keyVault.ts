// Key Vault publishing (issue 10): the refresh timer writes a target's token as a secret for consumers
// that can only read a secret. The broker authenticates to Key Vault as one of its own targets
// (BROKER_VAULT_TARGET), through its own federation and its own cache: no stored secret here either.
// A new version is written only when the token changed and the latest version would expire sooner, so a
// reader always finds a valid latest version and old versions stay until they expire; none is deleted.
import { RestError, SecretClient } from '@azure/keyvault-secrets';
import { sha256 } from '../audit.js';
import type { Clock } from '../clock.js';
import type { EntraToken } from '../exchange/entraClient.js';
import type { LogTarget } from '../log.js';
import { publishedScope } from '../policy.js';
import { PublishError, shouldPublish, type TokenPublisher } from './publisher.js';

/** Gets the broker's own token for a Key Vault scope (the vault target's, through the cache). */
export type VaultTokenProvider = (scope: string, log: LogTarget) => Promise<EntraToken>;

export interface KeyVaultPublisherOptions {
  getToken: VaultTokenProvider;
  clock: Clock;
  /** Refuse a challenge whose resource is not the vault's own domain (the SDK's default); off only for a local stand-in. */
  challengeVerification: boolean;
  timeoutMs: number;
}

/** Readers may see a token this long before the broker's clock says it was published (clock skew). */
const NOT_BEFORE_SKEW_MS = 60_000;

export function createKeyVaultPublisher(options: KeyVaultPublisherOptions): TokenPublisher {
  // The SDK calls the credential without the invocation's log; the timer's current one is used (one
  // run at a time per process, and every publish of a run shares its log).
  let log: LogTarget | undefined;
  const credential = {
    getToken: async (scopes: string | string[]) => {
      const scope = Array.isArray(scopes) ? scopes[0] : scopes;
      if (!scope) return null;
      const token = await options.getToken(scope, log ?? console).catch((error: unknown) => {
        throw new PublishError('vault_token_failed', { cause: error });
      });
      return { token: token.accessToken, expiresOnTimestamp: token.expiresAtMs };
    },
  };
  const clients = new Map<string, SecretClient>();
  const clientFor = (vaultUrl: string) => {
    let client = clients.get(vaultUrl);
    if (!client) {
      client = new SecretClient(vaultUrl, credential, {
        disableChallengeResourceVerification: !options.challengeVerification,
        retryOptions: { maxRetries: 2 },
      });
      clients.set(vaultUrl, client);
    }
    return client;
  };

  return {
    async publish(target, token, runLog, horizonMs) {
      log = runLog;
      const publish = target.publish;
      if (!publish) throw new Error(`target ${target.name} publishes nothing`);
      const client = clientFor(publish.vaultUrl);
      const tokenSha256 = sha256(token.accessToken);
      const requestOptions = () => ({ abortSignal: AbortSignal.timeout(options.timeoutMs) });
      try {
        const latest = await client
          .getSecret(publish.secretName, requestOptions())
          .catch((error: unknown) => {
            if (error instanceof RestError && error.statusCode === 404) return undefined;
            throw error;
          });
        const published = latest && {
          tokenSha256: latest.properties.tags?.tokenSha256,
          expiresAtMs: latest.properties.expiresOn?.getTime(),
        };
        if (
          !shouldPublish(
            published,
            { tokenSha256, expiresAtMs: token.expiresAtMs },
            options.clock.now(),
            horizonMs,
          )
        )
          return 'current';
        await client.setSecret(publish.secretName, token.accessToken, {
          ...requestOptions(),
          contentType: 'application/jwt',
          expiresOn: new Date(token.expiresAtMs),
          notBefore: new Date(options.clock.now() - NOT_BEFORE_SKEW_MS),
          tags: { target: target.name, scope: publishedScope(target), tokenSha256 },
        });
        return 'published';
      } catch (error) {
        if (error instanceof PublishError) throw error;
        const status = error instanceof RestError ? error.statusCode : undefined;
        throw new PublishError(
          status === 401 || status === 403 ? 'key_vault_denied' : 'key_vault_unavailable',
          {
            cause: error,
          },
        );
      }
    },
  };
}
