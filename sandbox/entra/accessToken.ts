// Mints the app-only access token: v1 or v2 claims chosen by the resource's token version, signed with
// the stand-in's keys (protocols.md §A.9; the lifetime of §A.3).
import { randomBytes, randomInt } from 'node:crypto';
import { v1Issuer, v2Issuer } from './discovery.js';
import { TOKEN_EXCHANGE_AUDIENCES } from './entraIssued.js';
import { GRAPH_APP_ID } from './managementAuth.js';
import type { Client, DirectoryReader, Resource } from './model.js';
import type { TokenPolicy } from './options.js';
import type { EntraKeySet } from './signingKeys.js';

export interface MintRequest {
  tenantId: string;
  client: Client;
  resource: Resource;
  /** The identifier as the client requested it (scope without `/.default`, or v1 `resource`). */
  requestedIdentifier: string;
}

export interface MintedToken {
  accessToken: string;
  version: 1 | 2;
  /** Lifetime in seconds. */
  expiresIn: number;
  /** Epoch seconds. */
  notBefore: number;
  /** Epoch seconds. */
  expiresOn: number;
  claims: Readonly<Record<string, unknown>>;
}

const opaque = (bytes: number): string => randomBytes(bytes).toString('base64url');

/** Lifetime in seconds: the configured one, or random 60–90 minutes as Entra's default (§A.3). */
export function tokenLifetimeSeconds(policy: TokenPolicy): number {
  return policy.tokenLifetimeSeconds ?? randomInt(3600, 5401);
}

/**
 * Builds and signs the token. Both versions: `oid`/`sub` = the client's service principal id or the MI's
 * principal id (`sub` = `oid` for app-only, UNCONFIRMED §A.9), `tid`, `idtyp: app`, `uti`, `roles` when
 * the resource grants any to this client (an application's `appRoleAssignments`; for Microsoft Graph, the
 * tenant's `graphPermissions`). v2: `aud` = resource app id, `azp`/`azpacr`. v1: `aud` = the
 * identifier as requested, `appid`/`appidacr`, `idp`, `x5t` in the header. The token-exchange resource is
 * the exception: its `aud` is `api://AzureADTokenExchange`, the value an app's FIC for a managed identity
 * names, which is what lets the MI-as-credential exchange match (§A.6; real tokens may carry the GUID).
 */
export async function mintAccessToken(
  request: MintRequest,
  directory: DirectoryReader,
  keys: EntraKeySet,
  policy: TokenPolicy,
): Promise<MintedToken> {
  const { client, resource, tenantId } = request;
  const isTokenExchange = TOKEN_EXCHANGE_AUDIENCES.includes(resource.appId);
  const version: 1 | 2 = isTokenExchange ? 2 : resource.accessTokenVersion;
  const now = Math.floor(policy.clock.now() / 1000);
  const expiresIn = tokenLifetimeSeconds(policy);
  const clientId = client.kind === 'application' ? client.appId : client.clientId;
  const principalId = client.kind === 'application' ? client.servicePrincipalId : client.principalId;
  const roles = grantedRoles(directory, tenantId, resource, clientId);

  const common = {
    iat: now,
    nbf: now,
    exp: now + expiresIn,
    aio: opaque(48),
    ...(roles && roles.length > 0 ? { roles } : {}),
    idtyp: 'app',
    oid: principalId,
    rh: `1.${opaque(40)}.`,
    sub: principalId,
    tid: tenantId,
    uti: opaque(16),
    // Real MI tokens name the identity's ARM resource id (xms_mirid); the broker may log it.
    ...(client.kind === 'managedIdentity'
      ? {
          xms_mirid: `/subscriptions/${client.subscriptionId}/resourcegroups/${client.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${client.name}`,
        }
      : {}),
  };
  const claims =
    version === 2
      ? {
          aud: isTokenExchange ? TOKEN_EXCHANGE_AUDIENCES[0] : resource.appId,
          iss: v2Issuer(tenantId),
          ...common,
          azp: clientId,
          azpacr: policy.clientAuthMethodClaim,
          ver: '2.0',
        }
      : {
          aud: request.requestedIdentifier,
          iss: v1Issuer(tenantId),
          idp: v1Issuer(tenantId),
          ...common,
          appid: clientId,
          appidacr: policy.clientAuthMethodClaim,
          ver: '1.0',
        };
  const accessToken = await keys.sign(claims, { x5t: version === 1 });
  return { accessToken, version, expiresIn, notBefore: now, expiresOn: now + expiresIn, claims };
}

// App roles the resource grants this caller: Graph is first-party (no application in the seed), so its
// grants are the tenant's graphPermissions; any other resource grants through its appRoleAssignments.
function grantedRoles(
  directory: DirectoryReader,
  tenantId: string,
  resource: Resource,
  clientId: string,
): string[] | undefined {
  if (resource.appId.toLowerCase() === GRAPH_APP_ID) {
    return directory.findTenant(tenantId)?.graphPermissions?.[clientId.toLowerCase()];
  }
  const resourceApp = directory.findClient(tenantId, resource.appId);
  return resourceApp?.kind === 'application' ? resourceApp.appRoleAssignments[clientId] : undefined;
}
