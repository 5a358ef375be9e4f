// First-party resources every tenant has, and how a requested identifier is matched to a resource.
import type { Resource } from './model.js';

/**
 * App id of the token-exchange resource `api://AzureADTokenExchange` ("AAD Token Exchange Endpoint" in
 * the public cloud). Real v2 managed-identity tokens for that audience carry this GUID as `aud`, while the
 * FIC on the app names the URI form; the token endpoint must treat both spellings as the same resource.
 */
export const TOKEN_EXCHANGE_APP_ID = 'fb60f99c-7a34-4190-8149-302f77469936';

/**
 * Microsoft's own APIs, present in every tenant. Versions: the first four accept v1 tokens (their
 * accessTokenAcceptedVersion is null, protocols.md §A.9); the token-exchange resource issues v2, which is
 * what a managed identity presents as an app's FIC assertion.
 */
export const FIRST_PARTY_RESOURCES: readonly Resource[] = [
  {
    appId: '00000003-0000-0000-c000-000000000000',
    identifierUris: ['https://graph.microsoft.com'],
    displayName: 'Microsoft Graph',
    accessTokenVersion: 1,
  },
  {
    appId: 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093',
    identifierUris: ['https://vault.azure.net'],
    displayName: 'Azure Key Vault',
    accessTokenVersion: 1,
  },
  {
    appId: '797f4846-ba00-4fd7-ba43-dac1f8f63013',
    identifierUris: ['https://management.azure.com/', 'https://management.core.windows.net/'],
    displayName: 'Windows Azure Service Management API',
    accessTokenVersion: 1,
  },
  {
    appId: 'e406a681-f3d4-42a8-90b6-c2b029497af1',
    identifierUris: ['https://storage.azure.com'],
    displayName: 'Azure Storage',
    accessTokenVersion: 1,
  },
  {
    appId: TOKEN_EXCHANGE_APP_ID,
    identifierUris: ['api://AzureADTokenExchange'],
    displayName: 'AAD Token Exchange Endpoint',
    accessTokenVersion: 2,
  },
];

/**
 * True when a requested identifier names this identifier URI. Entra accepts a resource with or without
 * its trailing slash (`https://management.azure.com` and `https://management.azure.com/` both reach ARM),
 * so one trailing slash is ignored on both sides. The comparison ignores case, because App ID URIs are
 * unique in a tenant regardless of case. Both are the stand-in's reading of observed behaviour, not a
 * documented contract.
 */
export function identifierUriMatches(identifierUri: string, requested: string): boolean {
  return stripOneSlash(identifierUri).toLowerCase() === stripOneSlash(requested).toLowerCase();
}

/** True when the identifier is the resource's app id (GUID, any case) or one of its identifier URIs. */
export function resourceMatches(resource: Resource, requested: string): boolean {
  return (
    resource.appId.toLowerCase() === requested.toLowerCase() ||
    resource.identifierUris.some((uri) => identifierUriMatches(uri, requested))
  );
}

function stripOneSlash(value: string): string {
  return value.endsWith('/') ? value.slice(0, -1) : value;
}
