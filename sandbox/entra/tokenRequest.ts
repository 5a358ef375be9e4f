// Request-level checks of the token endpoint, before the assertion is opened: parameters, grant type,
// tenant, client and target resource, each with Entra's code (protocols.md §A.1, §A.2, §A.5).
import type { Refusal } from './assertion.js';
import { MULTI_TENANT_SEGMENTS } from './discovery.js';
import type { Client, DirectoryReader, Resource, Tenant } from './model.js';

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Which token endpoint: v2 takes `scope`, v1 takes `resource` (§A.1). */
export type EndpointVersion = 'v1' | 'v2';

/** A request that passed every check of this module. */
export interface ValidatedTokenRequest {
  tenant: Tenant;
  client: Client;
  resource: Resource;
  /** The identifier as the client wrote it: the scope without `/.default`, or the v1 `resource`. */
  requestedIdentifier: string;
  /** The unverified assertion. */
  assertion: string;
}

export type TokenRequestResult =
  | { ok: true; request: ValidatedTokenRequest }
  | { ok: false; refusal: Refusal };

const refuse = (code: Refusal['code'], params?: Refusal['params']): TokenRequestResult => ({
  ok: false,
  refusal: params ? { code, params } : { code },
});

const DEFAULT_SUFFIX = '/.default';

/** The resource part of a scope: everything before its last `/segment` (or the whole scope). */
const resourceOf = (scope: string): string => {
  const cut = scope.lastIndexOf('/');
  return cut > 0 ? scope.slice(0, cut) : scope;
};

/**
 * Checks, in this order (the first failure wins): grant_type missing (900144) or not client_credentials
 * (70003); tenant `/common`, `/organizations`, `/consumers` (9001023) or unknown (90002); client_id missing
 * (900144); a client_secret (7000215: the stand-in has no secrets); no client_assertion (7000218);
 * client_assertion_type missing (900144) or not jwt-bearer (90011); on v2 a `resource` parameter (901002)
 * or no scope (900144), on v1 no resource (900144); unknown client (700016); a scope naming more than one
 * resource (700022) or without `/.default` (1002012); unknown resource (500011).
 */
export function validateTokenRequest(
  form: URLSearchParams,
  pathTenant: string,
  endpoint: EndpointVersion,
  directory: DirectoryReader,
): TokenRequestResult {
  const param = (name: string): string | undefined => {
    const value = form.get(name);
    return value === null || value === '' ? undefined : value;
  };

  const grantType = param('grant_type');
  if (!grantType) return refuse(900144, { name: 'grant_type' });
  if (grantType !== 'client_credentials') return refuse(70003, { grantType });

  if (MULTI_TENANT_SEGMENTS.has(pathTenant.toLowerCase())) return refuse(9001023);
  const tenant = directory.findTenant(pathTenant);
  if (!tenant) return refuse(90002, { tenant: pathTenant });

  const clientId = param('client_id');
  if (!clientId) return refuse(900144, { name: 'client_id' });
  if (param('client_secret')) return refuse(7000215, { clientId });
  const assertion = param('client_assertion');
  if (!assertion) return refuse(7000218);
  const assertionType = param('client_assertion_type');
  if (!assertionType) return refuse(900144, { name: 'client_assertion_type' });
  if (assertionType !== JWT_BEARER_ASSERTION_TYPE) return refuse(90011);

  let target: string;
  if (endpoint === 'v2') {
    if (param('resource')) return refuse(901002);
    const scope = param('scope');
    if (!scope) return refuse(900144, { name: 'scope' });
    target = scope;
  } else {
    const resource = param('resource');
    if (!resource) return refuse(900144, { name: 'resource' });
    target = resource;
  }

  const client = directory.findClient(tenant.id, clientId);
  if (!client) return refuse(700016, { clientId, tenant: tenant.displayName });

  let requestedIdentifier = target;
  if (endpoint === 'v2') {
    const scopes = target.split(/\s+/).filter((scope) => scope.length > 0);
    if (new Set(scopes.map(resourceOf)).size > 1) return refuse(700022, { scope: scopes.join(' ') });
    const [scope] = scopes;
    if (scopes.length !== 1 || !scope?.endsWith(DEFAULT_SUFFIX))
      return refuse(1002012, { scope: target.trim() });
    requestedIdentifier = scope.slice(0, -DEFAULT_SUFFIX.length);
  }
  const resource = directory.findResource(tenant.id, requestedIdentifier);
  if (!resource) return refuse(500011, { resource: requestedIdentifier, tenant: tenant.displayName });

  return { ok: true, request: { tenant, client, resource, requestedIdentifier, assertion } };
}
