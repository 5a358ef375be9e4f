// Composes the Key Vault (secrets) stand-in: the data plane behind bearer tokens from the Entra stand-in, and
// the /admin API; starts it on loopback over https, as @azure/keyvault-secrets requires.
import { Hono } from 'hono';
import { type RunningServer, serve } from '../lib/serve.js';
import type { PemPair } from '../lib/tls.js';
import { createBearerVerifier } from './bearerToken.js';
import {
  type KeyVaultStandInOptions,
  type ResolvedKeyVaultOptions,
  resolveKeyVaultOptions,
  type SecretPermission,
} from './options.js';
import { RequestLog } from './requestLog.js';
import { SecretStore } from './secretStore.js';
import { setAccessPolicy, vaultAdminRoutes } from './vaultAdmin.js';
import { VaultFaults } from './vaultFaults.js';
import { handleVaultRequest } from './vaultRequest.js';

/** Handles on the vault's live state, for tests and the launcher. */
export interface KeyVaultStandInAdmin {
  store: SecretStore;
  faults: VaultFaults;
  log: RequestLog;
  /** Replaces an identity's secret permissions (object id or app id); an empty list removes them. */
  setAccessPolicy(identity: string, permissions: readonly SecretPermission[]): void;
}

export interface KeyVaultStandIn {
  /** Every route: the secrets data plane and `/admin/...`. */
  app: Hono;
  admin: KeyVaultStandInAdmin;
  options: ResolvedKeyVaultOptions;
}

/**
 * Builds the vault without listening (use `app.request()` in unit tests). Throws on invalid options (see
 * `resolveKeyVaultOptions`). Tokens are verified against the keys at `options.jwksUrl`, fetched on first use.
 */
export function createKeyVaultStandIn(options: KeyVaultStandInOptions): KeyVaultStandIn {
  const resolved = resolveKeyVaultOptions(options);
  const store = new SecretStore(resolved.clock);
  const faults = new VaultFaults();
  const log = new RequestLog(resolved.requestLogSize);
  const recovery = { recoveryLevel: resolved.recoveryLevel, recoverableDays: resolved.recoverableDays };
  const deps = { options: resolved, verify: createBearerVerifier(resolved), store, faults, log };

  const app = new Hono();
  app.route(
    '/admin',
    vaultAdminRoutes({ store, faults, log, recovery, accessPolicies: resolved.accessPolicies }),
  );
  app.all('*', (c) => handleVaultRequest(c, deps));
  return {
    app,
    admin: {
      store,
      faults,
      log,
      setAccessPolicy: (identity, permissions) =>
        setAccessPolicy(resolved.accessPolicies, identity, permissions),
    },
    options: resolved,
  };
}

export interface StartKeyVaultStandInOptions extends KeyVaultStandInOptions {
  /** Certificate for https; the SDK only talks to a vault over TLS, trusted through the sandbox CA. */
  tls: PemPair;
  /** Port to bind; 0 (default) picks a free one. */
  port?: number;
  /** Loopback address to bind; 127.0.0.1 unless told. */
  host?: string;
}

export type RunningKeyVaultStandIn = KeyVaultStandIn &
  RunningServer & {
    /**
     * What to pass to `new SecretClient(vaultUrl, credential, { disableChallengeResourceVerification: true })`.
     * The flag is required: the SDK otherwise refuses a challenge whose resource host (`vault.azure.net`) is
     * not a suffix of the vault's host.
     */
    vaultUrl: string;
  };

/** Creates the vault and serves it over https on loopback. */
export async function startKeyVaultStandIn(
  options: StartKeyVaultStandInOptions,
): Promise<RunningKeyVaultStandIn> {
  const standIn = createKeyVaultStandIn(options);
  const server = await serve(standIn.app, { tls: options.tls, port: options.port, host: options.host });
  return { ...standIn, ...server, vaultUrl: server.url };
}
