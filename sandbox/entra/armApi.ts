// Azure Resource Manager routes of the Entra stand-in: user-assigned identities and their FICs (protocols.md §A.8).
import { type Context, Hono } from 'hono';
import {
  type ArmFailure,
  type ArmScope,
  armAuthFailure,
  armFailure,
  armWrongTenant,
  checkApiVersion,
  parseArmFicBody,
  sendArmError,
  toArmFic,
  toArmIdentity,
} from './armWire.js';
import type { Directory, FicOwnerRef } from './directory.js';
import {
  createManagementAuthenticator,
  type ManagementAuthenticator,
  type ManagementRouteOptions,
} from './managementAuth.js';

/** What an ARM path under /subscriptions/ addresses. */
interface ArmTarget {
  subscriptionId: string;
  resourceGroup: string;
  identity: string;
  /** Absent: the identity; null: the FIC collection; a string: one FIC by name. */
  fic?: string | null;
}

const METHOD_NOT_ALLOWED = (method: string): ArmFailure => ({
  status: 405,
  code: 'MethodNotAllowed',
  message: `The requested resource does not support http method '${method}'.`,
});

/**
 * ARM's Microsoft.ManagedIdentity API for the stand-in, mounted at the server root under /subscriptions/:
 * GET of an identity, and PUT (create or replace), GET, DELETE and list of its FICs. Every request needs a
 * supported api-version. After the `/subscriptions/` prefix (which the router matches as written, as every
 * SDK sends it), path segments and names compare without case, as ARM's do. Not simulated: the
 * 409 for concurrent writes under one identity, throttling (429) and the 405 for regions without FIC
 * support (§A.8), since requests here are handled one at a time in one region.
 *
 * Authentication (`options.authentication`, default `required`; see managementAuth.ts): every request
 * needs `Authorization: Bearer` with an access token the stand-in issued for ARM (401 otherwise, armWire.ts),
 * checked first; then the token's tenant must be the subscription's (the tenant of the identity, or of
 * any identity seeded under that subscription): 401 InvalidAuthenticationTokenTenant otherwise. A
 * subscription the directory does not know cannot be checked and goes on to the usual 404. Then
 * api-version, path and the operation. RBAC is not modelled: any valid token of the right tenant may read
 * and write, where real ARM would answer 403 AuthorizationFailed without a role assignment.
 */
export function armRoutes(directory: Directory, options: ManagementRouteOptions = {}): Hono {
  const authenticate = createManagementAuthenticator('arm', directory, options);
  const app = new Hono();
  app.all('/subscriptions/*', (c) => handle(c, directory, authenticate));
  return app;
}

async function handle(
  c: Context,
  directory: Directory,
  authenticate: ManagementAuthenticator | undefined,
): Promise<Response> {
  if (authenticate) {
    const authenticated = await authenticate(c);
    if (!authenticated.ok) return sendArmError(c, armAuthFailure(authenticated.failure));
    const subscriptionTenant = tenantOfSubscription(directory, new URL(c.req.url).pathname);
    if (subscriptionTenant !== undefined && subscriptionTenant !== authenticated.principal.tenantId) {
      return sendArmError(c, armWrongTenant(authenticated.principal.issuer, subscriptionTenant));
    }
  }
  const apiVersion = c.req.query('api-version');
  const versionProblem = checkApiVersion(apiVersion);
  if (versionProblem) return sendArmError(c, versionProblem);
  const target = parsePath(new URL(c.req.url).pathname);
  if (!target) {
    return sendArmError(c, {
      status: 404,
      code: 'NotFound',
      message: 'No resource matches the request path.',
    });
  }
  const scope: ArmScope = { resourceGroup: target.resourceGroup, identity: target.identity };
  const identity = directory.findManagedIdentity(
    target.subscriptionId,
    target.resourceGroup,
    target.identity,
  );
  if (!identity) return sendArmError(c, armFailure({ code: 'owner_not_found', message: '' }, scope));
  const owner: FicOwnerRef = { kind: 'managedIdentity', ...pick(identity) };
  const method = c.req.method;

  if (target.fic === undefined) {
    return method === 'GET' ? c.json(toArmIdentity(identity)) : sendArmError(c, METHOD_NOT_ALLOWED(method));
  }
  if (target.fic === null) {
    if (method !== 'GET') return sendArmError(c, METHOD_NOT_ALLOWED(method));
    const listed = directory.listFics(owner);
    if (!listed.ok) return sendArmError(c, armFailure(listed.error, scope));
    return c.json({ value: listed.value.map((fic) => toArmFic(identity, fic)) });
  }

  const name = target.fic;
  switch (method) {
    case 'GET': {
      const found = directory.getFic(owner, { name });
      if (!found.ok) return sendArmError(c, armFailure(found.error, scope));
      return c.json(toArmFic(identity, found.value));
    }
    case 'PUT': {
      const body = parseArmFicBody(await c.req.text(), apiVersion ?? '');
      if (!('input' in body)) return sendArmError(c, body);
      // The name comes from the path only; a PUT on an existing name replaces it (200), else creates (201).
      const written = directory.upsertFicByName(owner, name, body.input, 'replace');
      if (!written.ok) return sendArmError(c, armFailure(written.error, scope));
      return c.json(toArmFic(identity, written.value.fic), written.value.created ? 201 : 200);
    }
    case 'DELETE': {
      // ARM's delete contract: 200 when something was deleted, 204 when there was nothing to delete.
      const deleted = directory.deleteFic(owner, { name });
      return c.body(null, deleted.ok ? 200 : 204);
    }
    default:
      return sendArmError(c, METHOD_NOT_ALLOWED(method));
  }
}

// The tenant a subscription belongs to, as far as the directory knows: the tenant of the identity the path
// names, else of any identity under that subscription; undefined for a subscription it has never seen.
function tenantOfSubscription(directory: Directory, pathname: string): string | undefined {
  const target = parsePath(pathname);
  if (target) {
    const identity = directory.findManagedIdentity(
      target.subscriptionId,
      target.resourceGroup,
      target.identity,
    );
    if (identity) return identity.tenantId;
  }
  let subscriptionId: string | undefined;
  try {
    subscriptionId = decodeURIComponent(pathname.split('/').filter((s) => s.length > 0)[1] ?? '');
  } catch {
    return undefined;
  }
  const lower = subscriptionId.toLowerCase();
  return directory.listManagedIdentities().find((mi) => mi.subscriptionId.toLowerCase() === lower)?.tenantId;
}

// /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}
//   [/federatedIdentityCredentials[/{fic}]]
function parsePath(pathname: string): ArmTarget | undefined {
  const segments = pathname.split('/').filter((segment) => segment.length > 0);
  const decoded = segments.map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return undefined;
    }
  });
  if (decoded.some((segment) => segment === undefined)) return undefined;
  const [
    subscriptions,
    subscriptionId,
    groups,
    resourceGroup,
    providers,
    namespace,
    type,
    identity,
    child,
    fic,
    ...extra
  ] = decoded as string[];
  const is = (value: string | undefined, expected: string) => value?.toLowerCase() === expected.toLowerCase();
  if (
    !is(subscriptions, 'subscriptions') ||
    !is(groups, 'resourceGroups') ||
    !is(providers, 'providers') ||
    !is(namespace, 'Microsoft.ManagedIdentity') ||
    !is(type, 'userAssignedIdentities') ||
    subscriptionId === undefined ||
    resourceGroup === undefined ||
    identity === undefined ||
    extra.length > 0
  ) {
    return undefined;
  }
  if (child === undefined) return { subscriptionId, resourceGroup, identity };
  if (!is(child, 'federatedIdentityCredentials')) return undefined;
  return { subscriptionId, resourceGroup, identity, fic: fic ?? null };
}

function pick(identity: { subscriptionId: string; resourceGroup: string; name: string }) {
  return {
    subscriptionId: identity.subscriptionId,
    resourceGroup: identity.resourceGroup,
    name: identity.name,
  };
}
