// Shared set-up for the Key Vault stand-in tests: the Entra stand-in over https (seeded as the Entra tests'
// fixture), a vault that trusts its keys, and @azure/identity credentials for the seeded identities.
import { ClientAssertionCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { type RunningEntraStandIn, startEntraStandIn } from '../../../sandbox/entra/server.js';
import type { KeyVaultStandInOptions } from '../../../sandbox/keyvault/options.js';
import { type RunningKeyVaultStandIn, startKeyVaultStandIn } from '../../../sandbox/keyvault/server.js';
import {
  CALLER,
  type EntraFixture,
  EXCHANGE_AUD,
  ISSUER,
  MI,
  SEED,
  startEntraFixture,
  TENANT,
  type TestClock,
} from '../entra/standInFixture.js';

export { CALLER, MI, TENANT };

/** Scope @azure/keyvault-secrets asks for after the challenge. */
export const VAULT_SCOPE = 'https://vault.azure.net/.default';

export interface VaultFixture {
  fx: EntraFixture;
  entra: RunningEntraStandIn;
  vault: RunningKeyVaultStandIn;
  /** The vault's clock (starts at real time); the Entra stand-in keeps real time. */
  clock: TestClock;
  /** ClientAssertionCredential for CALLER (default) or the managed identity, with an assertion from ISSUER. */
  credential(identity?: 'caller' | 'managedIdentity'): ClientAssertionCredential;
  /** A SecretClient on the vault with the one option a non-`*.vault.azure.net` host needs. */
  client(credential: SecretClientCredential, options?: SecretClientOptions): SecretClient;
  /** Admin API call on the vault; JSON in and out. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export type SecretClientCredential = ConstructorParameters<typeof SecretClient>[1];

/** What the SDK throws for a refused request (core-rest-pipeline's RestError, as far as tests read it). */
export interface SdkError {
  message: string;
  statusCode?: number;
  code?: string;
  /** The deserialized Key Vault error body (`error.innerError` camel-cased by the SDK). */
  details?: { error?: { innerError?: { code?: string } } };
}

/** Resolves with what the promise rejects with; fails the test when it resolves. */
export const failure = (promise: Promise<unknown>): Promise<SdkError> =>
  promise.then(
    () => {
      throw new Error('expected the SDK to throw');
    },
    (error: SdkError) => error,
  );

/**
 * Starts Entra (https, FIC for CALLER and the MI from ISSUER) and a vault of TENANT in which CALLER (by object
 * id) may get, list and set, and the managed identity (by its client id, i.e. `appid`) may only get and list.
 */
export async function startVaultFixture(
  options: Partial<KeyVaultStandInOptions> = {},
): Promise<VaultFixture> {
  const fx = await startEntraFixture();
  const entra = await startEntraStandIn({
    seed: SEED,
    tls: await fx.ca.issue(['localhost', '127.0.0.1']),
    discoveryOverrides: { [ISSUER]: fx.issuer.server.url },
  });
  let now = Date.now();
  const clock: TestClock = { now: () => now, advance: (seconds) => (now += seconds * 1000) };
  const vault = await startKeyVaultStandIn({
    tls: await fx.ca.issue(['localhost', '127.0.0.1']),
    tenantId: TENANT.id,
    entraUrl: entra.url,
    accessPolicies: { [CALLER.spId]: ['get', 'list', 'set'], [MI.clientId]: ['get', 'list'] },
    clock,
    ...options,
  });

  const credential = (identity: 'caller' | 'managedIdentity' = 'caller') =>
    new ClientAssertionCredential(
      TENANT.id,
      identity === 'caller' ? CALLER.appId : MI.clientId,
      async () => {
        const iat = Math.floor(Date.now() / 1000);
        const sub = identity === 'caller' ? CALLER.subject : MI.subject;
        return fx.issuer.sign({ iss: ISSUER, sub, aud: EXCHANGE_AUD, iat, exp: iat + 300 });
      },
      { authorityHost: entra.authorityHost, disableInstanceDiscovery: true },
    );

  return {
    fx,
    entra,
    vault,
    clock,
    credential,
    client: (cred, clientOptions = {}) =>
      new SecretClient(vault.vaultUrl, cred, {
        disableChallengeResourceVerification: true,
        ...clientOptions,
      }),
    async admin(method, path, body) {
      const response = await fetch(`${vault.vaultUrl}/admin${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
    },
    async close() {
      await Promise.all([vault.close(), entra.close(), fx.close()]);
    },
  };
}
