// Options of the Key Vault stand-in and their defaults: the vault's tenant, where Entra's signing keys are,
// which tokens it accepts, who may do what (access policies), and the wire details it answers with.

/** Secret permissions of a Key Vault access policy (about-secrets.md, "Secret access control"). */
export type SecretPermission = 'get' | 'list' | 'set' | 'delete' | 'recover' | 'backup' | 'restore' | 'purge';

export const SECRET_PERMISSIONS: readonly SecretPermission[] = [
  'get',
  'list',
  'set',
  'delete',
  'recover',
  'backup',
  'restore',
  'purge',
];

/** Time source; epoch milliseconds. */
export interface Clock {
  now(): number;
}

/** Resource (and `aud`) of Key Vault's data plane; the SDK asks for `https://vault.azure.net/.default`. */
export const VAULT_RESOURCE = 'https://vault.azure.net';

/**
 * API versions @azure/keyvault-secrets 4.12 can send (its `serviceVersion` union; `2026-04-01` is its
 * default). Real Key Vault also accepts older ones (2016-10-01, previews), which the stand-in refuses
 * unless `apiVersions` names them.
 */
export const SDK_API_VERSIONS: readonly string[] = [
  '7.0',
  '7.1',
  '7.2',
  '7.3',
  '7.4',
  '7.5',
  '7.6',
  '2025-07-01',
  '2026-04-01',
];

export interface KeyVaultStandInOptions {
  /** Tenant GUID the vault belongs to: tokens must come from its issuers; the challenge names it. */
  tenantId: string;
  /** https base URL of the Entra stand-in; its `/{tenantId}/discovery/v2.0/keys` verifies tokens. */
  entraUrl: string;
  /** Overrides the keys URL derived from `entraUrl`. */
  jwksUrl?: string;
  /**
   * Access policies: `{ [objectId or appId]: permissions }`, keys compared ignoring case. A caller holds
   * the union of the entries for its token's `oid` and its `appid`/`azp`. Real access policies name an
   * object id (plus, for compound identities, an application id); the appId key is the stand-in's
   * shorthand. Missing permission → 403 `Forbidden`/`AccessDenied`.
   */
  accessPolicies?: Readonly<Record<string, readonly SecretPermission[]>>;
  /** Accepted `aud` values, compared exactly; `https://vault.azure.net` only unless told (see README). */
  audiences?: readonly string[];
  /** Accepted issuer forms of the tenant: 1 = `https://sts.windows.net/{tid}/`, 2 = the v2 issuer. */
  issuerVersions?: readonly (1 | 2)[];
  /** Host named by the challenge's `authorization`; Key Vault's observed value unless told. */
  challengeAuthority?: string;
  /** Allowed clock skew on `exp`/`nbf`, seconds; 300 (IdentityModel's default, UNCONFIRMED for Key Vault). */
  clockSkewSeconds?: number;
  /** Accepted `api-version` values; `SDK_API_VERSIONS` unless told. The last one is "the latest" in errors. */
  apiVersions?: readonly string[];
  /** Soft-delete retention reported in `attributes` (7–90); 90 → `Recoverable+Purgeable`. */
  recoverableDays?: number;
  /** Vault name and region named by 403 messages and `x-ms-keyvault-region`. */
  vaultName?: string;
  location?: string;
  /** Time source for token checks and `created`/`updated`; `Date.now` unless told. */
  clock?: Clock;
  /** Requests kept for `/admin/requests`; 200 unless told. */
  requestLogSize?: number;
}

export interface ResolvedKeyVaultOptions {
  tenantId: string;
  jwksUrl: string;
  accessPolicies: Map<string, ReadonlySet<SecretPermission>>;
  audiences: readonly string[];
  issuers: readonly string[];
  challengeHeader: string;
  clockSkewSeconds: number;
  apiVersions: readonly string[];
  recoverableDays: number;
  recoveryLevel: string;
  vaultName: string;
  location: string;
  clock: Clock;
  requestLogSize: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The tenant's issuer in token version 1 or 2 (protocols.md §A.9). */
export const issuerOf = (tenantId: string, version: 1 | 2): string =>
  version === 1
    ? `https://sts.windows.net/${tenantId}/`
    : `https://login.microsoftonline.com/${tenantId}/v2.0`;

/**
 * Validates the options and fills in defaults. Throws on a tenant that is not a GUID, a non-https Entra or
 * keys URL, an unknown permission name or retention outside 7–90 days: the vault never starts open by mistake.
 */
export function resolveKeyVaultOptions(options: KeyVaultStandInOptions): ResolvedKeyVaultOptions {
  if (!GUID.test(options.tenantId)) throw new Error('key vault stand-in: tenantId must be a tenant GUID');
  const tenantId = options.tenantId.toLowerCase();
  const jwksUrl =
    options.jwksUrl ?? `${options.entraUrl.replace(/\/+$/, '')}/${tenantId}/discovery/v2.0/keys`;
  if (new URL(jwksUrl).protocol !== 'https:') {
    throw new Error('key vault stand-in: Entra keys must be fetched over https');
  }
  const recoverableDays = options.recoverableDays ?? 90;
  if (!Number.isInteger(recoverableDays) || recoverableDays < 7 || recoverableDays > 90) {
    throw new Error('key vault stand-in: recoverableDays must be an integer from 7 to 90');
  }
  const authority = (options.challengeAuthority ?? 'https://login.windows.net').replace(/\/+$/, '');
  return {
    tenantId,
    jwksUrl,
    accessPolicies: toPolicyMap(options.accessPolicies ?? {}),
    audiences: options.audiences ?? [VAULT_RESOURCE],
    issuers: (options.issuerVersions ?? [1, 2]).map((version) => issuerOf(tenantId, version)),
    // The exact header Key Vault sends (SDK recordings) and @azure/keyvault-common parses: resource, not scope.
    challengeHeader: `Bearer authorization="${authority}/${tenantId}", resource="${VAULT_RESOURCE}"`,
    clockSkewSeconds: options.clockSkewSeconds ?? 300,
    apiVersions: options.apiVersions ?? SDK_API_VERSIONS,
    recoverableDays,
    // A 90-day retention is the default level; shorter ones are "Customized" (SDK recordings: 7 days).
    recoveryLevel: recoverableDays === 90 ? 'Recoverable+Purgeable' : 'CustomizedRecoverable+Purgeable',
    vaultName: options.vaultName ?? 'sandbox-vault',
    location: options.location ?? 'local',
    clock: options.clock ?? { now: () => Date.now() },
    requestLogSize: options.requestLogSize ?? 200,
  };
}

/** Normalises an access-policy table (keys lower-cased), refusing unknown permission names. */
export function toPolicyMap(
  policies: Readonly<Record<string, readonly SecretPermission[]>>,
): Map<string, ReadonlySet<SecretPermission>> {
  const map = new Map<string, ReadonlySet<SecretPermission>>();
  for (const [identity, permissions] of Object.entries(policies)) {
    const unknown = permissions.filter((permission) => !SECRET_PERMISSIONS.includes(permission));
    if (unknown.length > 0) {
      throw new Error(
        `key vault stand-in: unknown secret permission(s) ${unknown.join(', ')} for ${identity}`,
      );
    }
    map.set(identity.toLowerCase(), new Set(permissions));
  }
  return map;
}
