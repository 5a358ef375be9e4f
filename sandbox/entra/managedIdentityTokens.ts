// The platform's side of a user-assigned managed identity (sandbox only): Entra issues the identity's token
// for a resource with no client credential, as Azure's identity endpoints obtain one for a resource the
// identity is attached to. sandbox/managedIdentity/ serves it App Service style; /admin exposes it too.
import { type MintedToken, mintAccessToken } from './accessToken.js';
import type { DirectoryReader } from './model.js';
import type { TokenPolicy } from './options.js';
import type { EntraKeySet } from './signingKeys.js';

export interface ManagedIdentityTokenRequest {
  /** Tenant GUID or verified domain. */
  tenant: string;
  /** The user-assigned identity's client id. */
  clientId: string;
  /** v1-style resource (`api://AzureADTokenExchange`, `https://vault.azure.net`); a `/.default` suffix is dropped. */
  resource: string;
}

export type ManagedIdentityTokenResult =
  | { ok: true; token: MintedToken; clientId: string }
  | { ok: false; reason: 'unknown_tenant' | 'unknown_identity' | 'unknown_resource' };

export interface ManagedIdentityIssuerDeps {
  directory: DirectoryReader;
  keys: EntraKeySet;
  policy: TokenPolicy;
}

/**
 * Mints the identity's access token exactly as the token endpoint would for it (same claims, version and
 * lifetime: ./accessToken.ts); for `api://AzureADTokenExchange` that is the v2 token an application's
 * federated credential for the identity accepts. Only user-assigned identities of the directory are served.
 */
export async function issueManagedIdentityToken(
  deps: ManagedIdentityIssuerDeps,
  request: ManagedIdentityTokenRequest,
): Promise<ManagedIdentityTokenResult> {
  const tenant = deps.directory.findTenant(request.tenant);
  if (!tenant) return { ok: false, reason: 'unknown_tenant' };
  const client = deps.directory.findClient(tenant.id, request.clientId);
  if (client?.kind !== 'managedIdentity') return { ok: false, reason: 'unknown_identity' };
  const identifier = request.resource.replace(/\/\.default$/, '');
  const resource = deps.directory.findResource(tenant.id, identifier);
  if (!resource) return { ok: false, reason: 'unknown_resource' };
  const token = await mintAccessToken(
    { tenantId: tenant.id, client, resource, requestedIdentifier: identifier },
    deps.directory,
    deps.keys,
    deps.policy,
  );
  return { ok: true, token, clientId: client.clientId };
}
