// Maps a request (method and path) to the secrets operation it names, with the access-policy permission the
// operation needs (the SDK's operation docs: "This operation requires the secrets/<x> permission").
import type { SecretPermission } from './options.js';
import { invalidName, methodNotAllowed, notModelled, unknownPath, type VaultRefusal } from './vaultErrors.js';

/** The operations the stand-in models, named as in @azure/keyvault-secrets' generated client. */
export const VAULT_OPERATIONS = [
  'setSecret',
  'getSecret',
  'updateSecret',
  'getSecretVersions',
  'getSecrets',
] as const;

export type VaultOperation = (typeof VAULT_OPERATIONS)[number];

/** Permission each operation needs; an update needs `set` (SDK: "requires the secrets/set permission"). */
export const REQUIRED_PERMISSION: Readonly<Record<VaultOperation, SecretPermission>> = {
  setSecret: 'set',
  getSecret: 'get',
  updateSecret: 'set',
  getSecretVersions: 'list',
  getSecrets: 'list',
};

/** A resolved request: the operation with the secret name and version (`''` = the current version). */
export interface ResolvedOperation {
  operation: VaultOperation;
  name: string;
  version: string;
}

export type RouteResult = { ok: true; route: ResolvedOperation } | { ok: false; refusal: VaultRefusal };

/** "The name must be a 1-127 character string, containing only 0-9, a-z, A-Z, and -" (object identifiers doc). */
export const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

/** Data-plane collections the stand-in does not model; they answer 501 rather than a made-up success. */
const OTHER_COLLECTIONS = [
  'deletedsecrets',
  'keys',
  'deletedkeys',
  'certificates',
  'deletedcertificates',
  'storage',
];

/**
 * Resolves `method` and `pathname`. A GET of `/secrets/{name}/` (the SDK's form when no version is given,
 * local-components.md §4) and of `/secrets/{name}` both read the current version. Leading slashes are
 * collapsed: the docs' own example request is `PUT https://<vault>.vault.azure.net//secrets/...`.
 */
export function resolveOperation(method: string, pathname: string): RouteResult {
  const segments = pathname.replace(/^\/+/, '/').split('/').slice(1);
  const [collection, rawName, third, ...rest] = segments;
  const refuse = (refusal: VaultRefusal): RouteResult => ({ ok: false, refusal });
  const route = (operation: VaultOperation, name = '', version = ''): RouteResult => ({
    ok: true,
    route: { operation, name, version },
  });

  if (collection !== 'secrets') {
    return refuse(
      OTHER_COLLECTIONS.includes(collection ?? '') ? notModelled(`/${collection}`) : unknownPath(),
    );
  }
  // `/secrets` and `/secrets/`: the listing (a PUT there is Key Vault's observed 405).
  if (rawName === undefined || (rawName === '' && third === undefined)) {
    return method === 'GET' ? route('getSecrets') : refuse(methodNotAllowed(method));
  }
  if (rawName === '') return refuse(unknownPath());
  if (rest.length > 0 && !(rest.length === 1 && rest[0] === '')) return refuse(unknownPath());
  const name = safeDecode(rawName);
  if (name === 'restore' && third === undefined && method === 'POST')
    return refuse(notModelled('restoring secrets'));
  if (name === undefined || !SECRET_NAME.test(name)) return refuse(invalidName(name ?? rawName));

  if (third === undefined || third === '') {
    if (method === 'PUT' && third === undefined) return route('setSecret', name);
    if (method === 'GET') return route('getSecret', name);
    if (method === 'DELETE' && third === undefined)
      return refuse(notModelled('deleting secrets (soft delete)'));
    return refuse(methodNotAllowed(method));
  }
  if (third === 'versions')
    return method === 'GET' ? route('getSecretVersions', name) : refuse(methodNotAllowed(method));
  if (third === 'backup') return refuse(notModelled('secret backups'));
  if (method === 'GET') return route('getSecret', name, third);
  if (method === 'PATCH') return route('updateSecret', name, third);
  return refuse(methodNotAllowed(method));
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
