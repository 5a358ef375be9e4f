// Key Vault publishing (issue 10): the refresh timer writes a target's token as a secret for consumers
// that can only read a secret. The broker authenticates to Key Vault as one of its own targets
// (BROKER_VAULT_TARGET), through its own federation and its own cache: no stored secret here either.
// A new version is written only when the token changed and the latest version would expire sooner, so a
// reader always finds a valid latest version and old versions stay until they expire; none is deleted.
import { RestError, SecretClient } from '@azure/keyvault-secrets';
import { sha256 } from '../audit.js';
import type { Clock } from '../clock.js';
import { errorKind } from '../errors.js';
import type { EntraToken } from '../exchange/entraClient.js';
import { Keyring, type SealKey } from '../exchange/tokenSeal.js';
import { type LogTarget, logEvent } from '../log.js';
import { publishedScope } from '../policy.js';
import { PublishError, shouldPublish, type TokenPublisher } from './publisher.js';

/** Gets the broker's own token for a Key Vault scope (the vault target's, through the cache). */
export type VaultTokenProvider = (scope: string, log: LogTarget) => Promise<EntraToken>;

export interface VaultAccessOptions {
  getToken: VaultTokenProvider;
  /** Refuse a challenge whose resource is not the vault's own domain (the SDK's default); off only for a local stand-in. */
  challengeVerification: boolean;
  timeoutMs: number;
}

/** Readers may see a token this long before the broker's clock says it was published (clock skew). */
const NOT_BEFORE_SKEW_MS = 60_000;

/** The broker's SecretClients, one per vault, signed in as BROKER_VAULT_TARGET. */
export class VaultAccess {
  // The SDK calls the credential without the invocation's log; the latest caller's is used (the timer
  // runs one at a time per process, and start-up comes before it).
  #log: LogTarget | undefined;
  readonly #clients = new Map<string, SecretClient>();
  readonly #credential;

  constructor(readonly options: VaultAccessOptions) {
    this.#credential = {
      getToken: async (scopes: string | string[]) => {
        const scope = Array.isArray(scopes) ? scopes[0] : scopes;
        if (!scope) return null;
        const token = await options.getToken(scope, this.#log ?? console).catch((error: unknown) => {
          throw new PublishError('vault_token_failed', { cause: error });
        });
        return { token: token.accessToken, expiresOnTimestamp: token.expiresAtMs };
      },
    };
  }

  client(vaultUrl: string, log: LogTarget): SecretClient {
    this.#log = log;
    let client = this.#clients.get(vaultUrl);
    if (!client) {
      client = new SecretClient(vaultUrl, this.#credential, {
        disableChallengeResourceVerification: !this.options.challengeVerification,
        retryOptions: { maxRetries: 2 },
      });
      this.#clients.set(vaultUrl, client);
    }
    return client;
  }

  /** Per-call options: the call's deadline. */
  deadline(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.options.timeoutMs) };
  }
}

/**
 * A Key Vault failure as a reason code; never the vault's answer. The cause is only its errorKind: a
 * RestError holds the request it failed on, whose body is the token being published and whose headers
 * carry the vault's bearer token.
 */
function vaultFailure(error: unknown): PublishError {
  if (error instanceof PublishError) return error;
  const status = error instanceof RestError ? error.statusCode : undefined;
  return new PublishError(status === 401 || status === 403 ? 'key_vault_denied' : 'key_vault_unavailable', {
    cause: errorKind(error),
  });
}

export function createKeyVaultPublisher(access: VaultAccess, clock: Clock): TokenPublisher {
  return {
    async publish(target, token, log, horizonMs) {
      const publish = target.publish;
      if (!publish) throw new Error(`target ${target.name} publishes nothing`);
      const client = access.client(publish.vaultUrl, log);
      const tokenSha256 = sha256(token.accessToken);
      const requestOptions = () => access.deadline();
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
          !shouldPublish(published, { tokenSha256, expiresAtMs: token.expiresAtMs }, clock.now(), horizonMs)
        )
          return 'current';
        await client.setSecret(publish.secretName, token.accessToken, {
          ...requestOptions(),
          contentType: 'application/jwt',
          expiresOn: new Date(token.expiresAtMs),
          notBefore: new Date(clock.now() - NOT_BEFORE_SKEW_MS),
          tags: { target: target.name, scope: publishedScope(target), tokenSha256 },
        });
        return 'published';
      } catch (error) {
        throw vaultFailure(error);
      }
    },
  };
}

/** At most this many of the key secret's newest versions open sealed tokens. */
const MAX_KEY_VERSIONS = 10;

/**
 * The shared tier's keys from a Key Vault secret (`https://<vault>/secrets/<name>`): every enabled,
 * unexpired version holding base64 of 32 bytes, newest first, so the newest seals and the older ones
 * still open what they sealed. Rotating is adding a version; the timer reloads on every run.
 */
export async function loadKeyringFromVault(
  access: VaultAccess,
  secretUrl: string,
  log: LogTarget,
  clock: Clock,
): Promise<Keyring> {
  const url = new URL(secretUrl);
  const name = url.pathname.split('/')[2] as string;
  const client = access.client(url.origin, log);
  try {
    const now = clock.now();
    const versions: Array<{ version: string; created: number }> = [];
    for await (const properties of client.listPropertiesOfSecretVersions(name, access.deadline())) {
      if (properties.enabled === false || !properties.version) continue;
      if (properties.expiresOn && properties.expiresOn.getTime() <= now) continue;
      if (properties.notBefore && properties.notBefore.getTime() > now) continue;
      versions.push({ version: properties.version, created: properties.createdOn?.getTime() ?? 0 });
    }
    versions.sort((a, b) => b.created - a.created);
    const keys: SealKey[] = [];
    for (const { version } of versions.slice(0, MAX_KEY_VERSIONS)) {
      const secret = await client.getSecret(name, { ...access.deadline(), version });
      const key = Buffer.from(secret.value ?? '', 'base64');
      // A version that is not a key is skipped (named in the log), not fatal: the others still work.
      if (key.length === 32) keys.push({ version, key });
      else logEvent(log, 'warn', 'shared_cache.key_skipped', { version, reason: 'not_32_bytes_base64' });
    }
    if (keys.length === 0) throw new PublishError('key_vault_unavailable');
    return new Keyring(keys);
  } catch (error) {
    throw vaultFailure(error);
  }
}
