// Microsoft Graph routes of the Entra stand-in: applications and their federatedIdentityCredentials (§A.7).
import { type Context, Hono } from 'hono';
import type { Directory, FicOwnerRef } from './directory.js';
import type { FicKey } from './ficStore.js';
import { type FicInput, sameFicName } from './ficValidation.js';
import {
  GRAPH_FORBIDDEN,
  GRAPH_WWW_AUTHENTICATE,
  type GraphFailure,
  type GraphVersion,
  graphAuthFailure,
  graphFailure,
  parseGraphFicBody,
  sendGraphError,
  toGraphFic,
  UNREADABLE_BODY,
} from './graphWire.js';
import {
  createManagementAuthenticator,
  graphRolesAllow,
  type ManagementAuthenticator,
  type ManagementRouteOptions,
} from './managementAuth.js';
import type { Application } from './model.js';

/** What a Graph path under /{version}/ addresses. */
type GraphTarget =
  | { kind: 'application'; app: AppRef }
  | { kind: 'collection'; app: AppRef }
  | { kind: 'fic'; app: AppRef; key: FicKey };
type AppRef = { by: 'id' | 'appId'; value: string };

// OData key segments: applications(appId='…') and federatedIdentityCredentials(name='…'); '' escapes '.
const APP_BY_APP_ID = /^applications\(appId='((?:[^']|'')*)'\)$/i;
const FIC_BY_NAME = /^federatedIdentityCredentials\(name='((?:[^']|'')*)'\)$/i;
const FILTER = /^(name|subject) eq '((?:[^']|'')*)'$/;
const unquote = (value: string): string => value.replaceAll("''", "'");
const METHOD_NOT_ALLOWED: GraphFailure = {
  status: 405,
  code: 'Request_BadRequest',
  message: 'Specified HTTP method is not allowed for the request target.',
};

/**
 * Graph's FIC API for the stand-in, mounted at the server root: `/v1.0/...` and `/beta/...`. Both
 * versions behave alike, except that claimsMatchingExpression (flexible FICs) exists only in beta, as in
 * real Graph; v1.0 refuses it as an unknown property.
 *
 * Authentication (`options.authentication`, default `required`; see managementAuth.ts): every request
 * needs `Authorization: Bearer` with an access token the stand-in issued for Graph, checked in this order:
 * token (401 InvalidAuthenticationToken) → path (400) → app roles (403 Authorization_RequestDenied: reads
 * need Application.Read.All, Application.ReadWrite.OwnedBy or Application.ReadWrite.All, writes one of the
 * last two) → the application, looked up in the token's tenant only: another tenant's application is a
 * 404 Request_ResourceNotFound, exactly like one that does not exist, because Graph shows each tenant its
 * own directory. The order is the stand-in's; Graph does not document its precedence.
 */
export function graphRoutes(directory: Directory, options: ManagementRouteOptions = {}): Hono {
  const authenticate = createManagementAuthenticator('graph', directory, options);
  const app = new Hono();
  for (const version of ['v1.0', 'beta'] as const) {
    app.all(`/${version}/*`, (c) => handle(c, directory, version, authenticate));
  }
  return app;
}

async function handle(
  c: Context,
  directory: Directory,
  version: GraphVersion,
  authenticate: ManagementAuthenticator | undefined,
): Promise<Response> {
  const authenticated = authenticate ? await authenticate(c) : undefined;
  if (authenticated && !authenticated.ok) {
    c.header('WWW-Authenticate', GRAPH_WWW_AUTHENTICATE);
    return sendGraphError(c, graphAuthFailure(authenticated.failure));
  }
  const principal = authenticated?.principal;
  const segments = decodeSegments(new URL(c.req.url).pathname).slice(1);
  const target = parsePath(segments);
  if (!target) {
    const segment = segments.at(-1) ?? '';
    return sendGraphError(c, {
      status: 400,
      code: 'BadRequest',
      message: `Resource not found for the segment '${segment}'.`,
    });
  }
  if (principal && !graphRolesAllow(c.req.method, principal.roles)) return sendGraphError(c, GRAPH_FORBIDDEN);
  const found =
    target.app.by === 'id'
      ? directory.findApplicationByObjectId(target.app.value)
      : directory.findApplicationByAppId(target.app.value);
  // A token sees its own tenant's directory only.
  const application = principal && found?.tenantId !== principal.tenantId ? undefined : found;
  if (!application)
    return sendGraphError(c, graphFailure({ code: 'owner_not_found', message: '', value: target.app.value }));
  const owner: FicOwnerRef = { kind: 'application', objectId: application.id };
  const base = `${new URL(c.req.url).origin}/${version}/$metadata#`;
  const ficContext = `${base}applications('${application.id}')/federatedIdentityCredentials`;
  const method = c.req.method;

  if (target.kind === 'application') {
    if (method !== 'GET') return sendGraphError(c, METHOD_NOT_ALLOWED);
    return c.json({
      '@odata.context': `${base}applications/$entity`,
      ...toGraphApplication(directory, application),
    });
  }
  if (target.kind === 'collection') {
    if (method === 'GET') {
      const listed = directory.listFics(owner);
      if (!listed.ok) return sendGraphError(c, graphFailure(listed.error));
      const filter = parseFilter(c.req.query('$filter'));
      if (filter === 'unsupported') {
        return sendGraphError(c, {
          status: 400,
          code: 'Request_UnsupportedQuery',
          message: 'Unsupported Query.',
        });
      }
      const value = listed.value
        .filter((fic) => matchesFilter(fic, filter))
        .map((fic) => toGraphFic(fic, version));
      return c.json({ '@odata.context': ficContext, value });
    }
    if (method !== 'POST') return sendGraphError(c, METHOD_NOT_ALLOWED);
    const body = await readBody(c, version);
    if (!('input' in body)) return sendGraphError(c, body);
    const created = directory.createFic(owner, body.input);
    if (!created.ok) return sendGraphError(c, graphFailure(created.error));
    return c.json({ '@odata.context': `${ficContext}/$entity`, ...toGraphFic(created.value, version) }, 201);
  }

  switch (method) {
    case 'GET': {
      const found = directory.getFic(owner, target.key);
      if (!found.ok) return sendGraphError(c, graphFailure(found.error));
      return c.json({ '@odata.context': `${ficContext}/$entity`, ...toGraphFic(found.value, version) });
    }
    case 'PATCH': {
      const body = await readBody(c, version);
      if (!('input' in body)) return sendGraphError(c, body);
      // Upsert needs `Prefer: create-if-missing`; without it Graph treats the PATCH as a plain update.
      if ('name' in target.key && preferCreateIfMissing(c.req.header('prefer'))) {
        const written = directory.upsertFicByName(owner, target.key.name, body.input, 'merge');
        if (!written.ok) return sendGraphError(c, graphFailure(written.error));
        if (!written.value.created) return c.body(null, 204);
        return c.json(
          { '@odata.context': `${ficContext}/$entity`, ...toGraphFic(written.value.fic, version) },
          201,
        );
      }
      const updated = directory.updateFic(owner, target.key, body.input);
      return updated.ok ? c.body(null, 204) : sendGraphError(c, graphFailure(updated.error));
    }
    case 'DELETE': {
      const deleted = directory.deleteFic(owner, target.key);
      return deleted.ok ? c.body(null, 204) : sendGraphError(c, graphFailure(deleted.error));
    }
    default:
      return sendGraphError(c, METHOD_NOT_ALLOWED);
  }
}

/** Splits a path into decoded segments; a segment that cannot be decoded is kept as sent. */
function decodeSegments(pathname: string): string[] {
  return pathname
    .split('/')
    .filter((segment) => segment.length > 0)
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    });
}

// Segments after the version: applications/{id} | applications(appId='…'), then nothing,
// federatedIdentityCredentials, federatedIdentityCredentials/{id} or federatedIdentityCredentials(name='…').
function parsePath(segments: string[]): GraphTarget | undefined {
  const [first, ...after] = segments;
  if (first === undefined) return undefined;
  let app: AppRef;
  let rest: string[];
  const byAppId = APP_BY_APP_ID.exec(first);
  if (byAppId) {
    app = { by: 'appId', value: unquote(byAppId[1] ?? '') };
    rest = after;
  } else if (first.toLowerCase() === 'applications' && after[0] !== undefined) {
    app = { by: 'id', value: after[0] };
    rest = after.slice(1);
  } else {
    return undefined;
  }
  const [collection, id, ...extra] = rest;
  if (collection === undefined) return { kind: 'application', app };
  if (extra.length > 0) return undefined;
  const byName = FIC_BY_NAME.exec(collection);
  if (byName)
    return id === undefined ? { kind: 'fic', app, key: { name: unquote(byName[1] ?? '') } } : undefined;
  if (collection.toLowerCase() !== 'federatedidentitycredentials') return undefined;
  return id === undefined ? { kind: 'collection', app } : { kind: 'fic', app, key: { id } };
}

type Filter = { property: 'name' | 'subject'; value: string } | undefined;

// Graph documents $filter with eq on name and subject only (federatedIdentityCredential-list).
function parseFilter(raw: string | undefined): Filter | 'unsupported' {
  if (raw === undefined) return undefined;
  const match = FILTER.exec(raw.trim());
  if (!match) return 'unsupported';
  return { property: match[1] === 'name' ? 'name' : 'subject', value: unquote(match[2] ?? '') };
}

function matchesFilter(fic: { name: string; subject: string | null }, filter: Filter): boolean {
  if (!filter) return true;
  return filter.property === 'name' ? sameFicName(fic.name, filter.value) : fic.subject === filter.value;
}

function preferCreateIfMissing(prefer: string | undefined): boolean {
  return (prefer ?? '').split(',').some((token) => token.trim().toLowerCase() === 'create-if-missing');
}

async function readBody(c: Context, version: GraphVersion): Promise<{ input: FicInput } | GraphFailure> {
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch {
    return UNREADABLE_BODY;
  }
  const parsed = parseGraphFicBody(raw, version);
  return 'input' in parsed ? { input: parsed.input } : parsed;
}

function toGraphApplication(directory: Directory, app: Application): Record<string, unknown> {
  return {
    id: app.id,
    appId: app.appId,
    displayName: app.displayName,
    identifierUris: app.identifierUris,
    publisherDomain: directory.findTenant(app.tenantId)?.domains[0] ?? null,
    signInAudience: 'AzureADMyOrg',
    api: { requestedAccessTokenVersion: app.requestedAccessTokenVersion },
  };
}
