// OpenID discovery (v1 and v2), signing keys and MSAL's instance discovery, in Entra's shapes, with every
// endpoint pointing at the stand-in's own base URL while issuers keep their real values (protocols.md §A.1, §A.9).
import { randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { type AadstsCode, entraError } from './aadsts.js';
import type { DirectoryReader } from './model.js';
import type { TokenPolicy } from './options.js';
import type { EntraKeySet } from './signingKeys.js';

/** The consumer (MSA) tenant GUID Entra resolves `/consumers` to. */
export const CONSUMERS_TENANT_ID = '9188040d-6c67-4c5b-b112-36a304b66dad';

/** Tenant path segments that name no single tenant (client credentials refuse them, AADSTS9001023). */
export const MULTI_TENANT_SEGMENTS: ReadonlySet<string> = new Set(['common', 'organizations', 'consumers']);

/** `iss` of v2 tokens for a tenant (§A.9). */
export const v2Issuer = (tenantId: string): string => `https://login.microsoftonline.com/${tenantId}/v2.0`;
/** `iss` of v1 tokens for a tenant (§A.9). */
export const v1Issuer = (tenantId: string): string => `https://sts.windows.net/${tenantId}/`;

/** Public base URL of the stand-in for this request: configured, or the request's own origin. */
export function baseUrlOf(c: Context, policy: TokenPolicy): string {
  return policy.baseUrl ?? new URL(c.req.url).origin;
}

/** Sends an Entra error body with the stand-in's usual headers. */
export function sendEntraError(
  c: Context,
  policy: TokenPolicy,
  code: AadstsCode,
  params: Readonly<Record<string, string | number>>,
  extra: { error?: 'invalid_tenant' | 'invalid_instance'; traceId?: string; correlationId?: string } = {},
): Response {
  const traceId = extra.traceId ?? randomUUID();
  const { status, body } = entraError(code, params, {
    traceId,
    correlationId: extra.correlationId ?? c.req.header('client-request-id') ?? randomUUID(),
    now: policy.clock.now(),
    separator: policy.descriptionSeparator,
    overrides: policy.aadstsOverrides,
    error: extra.error,
  });
  return c.json(body, status as 400, { 'x-ms-request-id': traceId, 'Cache-Control': 'no-store, no-cache' });
}

type TenantScope = { segment: string; tenantId: string | undefined; issuerTenant: string };

/** Resolves the path tenant: a concrete tenant (id set), a multi-tenant segment, or undefined (unknown). */
function resolveScope(directory: DirectoryReader, segment: string): TenantScope | undefined {
  const lower = segment.toLowerCase();
  if (lower === 'consumers')
    return { segment: lower, tenantId: undefined, issuerTenant: CONSUMERS_TENANT_ID };
  if (MULTI_TENANT_SEGMENTS.has(lower))
    return { segment: lower, tenantId: undefined, issuerTenant: '{tenantid}' };
  const tenant = directory.findTenant(segment);
  return tenant ? { segment: tenant.id, tenantId: tenant.id, issuerTenant: tenant.id } : undefined;
}

const COMMON_FIELDS = {
  token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
  response_modes_supported: ['query', 'fragment', 'form_post'],
  subject_types_supported: ['pairwise'],
  id_token_signing_alg_values_supported: ['RS256'],
  http_logout_supported: true,
  frontchannel_logout_supported: true,
  tenant_region_scope: 'NA',
  cloud_instance_name: 'microsoftonline.com',
  cloud_graph_host_name: 'graph.windows.net',
  msgraph_host: 'graph.microsoft.com',
  rbac_url: 'https://pas.windows.net',
};

function v2Document(base: string, scope: TenantScope): Record<string, unknown> {
  const t = `${base}/${scope.segment}`;
  return {
    token_endpoint: `${t}/oauth2/v2.0/token`,
    jwks_uri: `${t}/discovery/v2.0/keys`,
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: v2Issuer(scope.issuerTenant),
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${t}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${t}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'tid', 'ver'],
    kerberos_endpoint: `${t}/kerberos`,
    ...COMMON_FIELDS,
  };
}

function v1Document(base: string, scope: TenantScope): Record<string, unknown> {
  const t = `${base}/${scope.segment}`;
  return {
    token_endpoint: `${t}/oauth2/token`,
    // Entra's v1 documents point at the common key set whatever the tenant.
    jwks_uri: `${base}/common/discovery/keys`,
    response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
    scopes_supported: ['openid'],
    issuer:
      scope.issuerTenant === '{tenantid}'
        ? 'https://sts.windows.net/{tenantid}/'
        : v1Issuer(scope.issuerTenant),
    microsoft_multi_refresh_token: true,
    authorization_endpoint: `${t}/oauth2/authorize`,
    device_authorization_endpoint: `${t}/oauth2/devicecode`,
    end_session_endpoint: `${t}/oauth2/logout`,
    check_session_iframe: `${t}/oauth2/checksession`,
    userinfo_endpoint: `${t}/openid/userinfo`,
    kerberos_endpoint: `${t}/kerberos`,
    ...COMMON_FIELDS,
  };
}

/** The loopback names that reach the same listener, so MSAL's authority may use either. */
function hostAliases(host: string): string[] {
  const match = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i.exec(host);
  if (!match) return [host];
  const port = match[2] ?? '';
  return [`localhost${port}`, `127.0.0.1${port}`, `[::1]${port}`];
}

/** Discovery, keys and instance-discovery routes. */
export function discoveryRoutes(directory: DirectoryReader, keys: EntraKeySet, policy: TokenPolicy): Hono {
  const app = new Hono();
  const unknownTenant = (c: Context, tenant: string) =>
    sendEntraError(c, policy, 90002, { tenant }, { error: 'invalid_tenant' });

  // MSAL calls this before token requests unless instance discovery is disabled (§A.1, local-components §11).
  app.get('/common/discovery/instance', (c) => {
    const base = baseUrlOf(c, policy);
    const authorize = c.req.query('authorization_endpoint');
    let authority: URL | undefined;
    try {
      authority = authorize ? new URL(authorize) : undefined;
    } catch {
      authority = undefined;
    }
    const ownHost = new URL(base).host;
    if (!authority || !hostAliases(ownHost).includes(authority.host.toLowerCase())) {
      return sendEntraError(c, policy, 50049, {}, { error: 'invalid_instance' });
    }
    const tenant = authority.pathname.split('/')[1] || 'common';
    const aliases = hostAliases(authority.host.toLowerCase());
    return c.json({
      tenant_discovery_endpoint: `${authority.origin}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: authority.host, preferred_cache: authority.host, aliases }],
    });
  });

  app.get('/:tenant/v2.0/.well-known/openid-configuration', (c) => {
    const scope = resolveScope(directory, c.req.param('tenant'));
    if (!scope) return unknownTenant(c, c.req.param('tenant'));
    return c.json(v2Document(baseUrlOf(c, policy), scope));
  });

  app.get('/:tenant/.well-known/openid-configuration', (c) => {
    const scope = resolveScope(directory, c.req.param('tenant'));
    if (!scope) return unknownTenant(c, c.req.param('tenant'));
    return c.json(v1Document(baseUrlOf(c, policy), scope));
  });

  app.get('/:tenant/discovery/v2.0/keys', (c) => {
    const scope = resolveScope(directory, c.req.param('tenant'));
    if (!scope) return unknownTenant(c, c.req.param('tenant'));
    return c.json(keys.jwks(v2Issuer(scope.issuerTenant)));
  });

  // v1 key sets carry no `issuer` field.
  app.get('/:tenant/discovery/keys', (c) => {
    const scope = resolveScope(directory, c.req.param('tenant'));
    if (!scope) return unknownTenant(c, c.req.param('tenant'));
    return c.json(keys.jwks());
  });

  return app;
}
