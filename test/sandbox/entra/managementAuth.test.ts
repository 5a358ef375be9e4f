// Graph and ARM routes of the Entra stand-in require a bearer token it issued: exact 401/403 bodies, audience,
// tenant and role checks, with every token obtained end to end through the stand-in's own token endpoint.
import { CompactSign, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { armRoutes } from '../../../sandbox/entra/armApi.js';
import { dotNetUtc } from '../../../sandbox/entra/armWire.js';
import { Directory } from '../../../sandbox/entra/directory.js';
import { graphRoutes } from '../../../sandbox/entra/graphApi.js';
import { ARM_APP_ID, GRAPH_APP_ID, graphRolesAllow } from '../../../sandbox/entra/managementAuth.js';
import type { DirectorySeed } from '../../../sandbox/entra/model.js';
import { createEntraStandIn } from '../../../sandbox/entra/server.js';
import { EntraKeySet } from '../../../sandbox/entra/signingKeys.js';
import {
  createUnservedIssuer,
  type EntraFixture,
  EXCHANGE_AUD,
  graphError,
  ISSUER,
  OTHER_TENANT,
  startEntraFixture,
  TENANT,
} from './standInFixture.js';

const client = (n: number, subject: string) => ({
  appId: `5a5a5a5a-0000-4000-8000-00000000000${n}`,
  subject,
});
const WRITER = client(1, 'graph-writer');
const READER = client(2, 'graph-reader');
const OWNED_BY = client(3, 'graph-owned-by');
const NO_ROLE = client(4, 'no-graph-role');
const FOREIGN = client(5, 'foreign-writer');
const UNGRANTED = client(6, 'no-graph-grant');
const TARGET = { id: '5b5b5b5b-0000-4000-8000-000000000001', appId: '5b5b5b5b-0000-4000-8000-000000000002' };
const MI = {
  clientId: '5c5c5c5c-0000-4000-8000-000000000001',
  principalId: '5c5c5c5c-0000-4000-8000-000000000002',
  subject: 'mi-reader',
};
const SUB = '5d5d5d5d-0000-4000-8000-000000000001';
const OTHER_SUB = '5d5d5d5d-0000-4000-8000-000000000002';
const IDENTITY = `/subscriptions/${SUB}/resourceGroups/rg-broker/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-broker`;
const FOREIGN_IDENTITY = `/subscriptions/${OTHER_SUB}/resourceGroups/rg-other/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-other`;
const V = '?api-version=2023-01-31';
const GRAPH_FICS = `/v1.0/applications/${TARGET.id}/federatedIdentityCredentials`;
const GRAPH = 'https://graph.microsoft.com/.default';
const ARM = 'https://management.azure.com/.default';

const trust = (subject: string) => ({
  name: subject,
  issuer: ISSUER,
  subject,
  audiences: [EXCHANGE_AUD],
  description: null,
  claimsMatchingExpression: null,
});
const app = (c: { appId: string; subject: string }) => ({
  appId: c.appId,
  displayName: c.subject,
  federatedIdentityCredentials: [trust(c.subject)],
});

const MANAGEMENT_SEED: DirectorySeed = {
  tenants: [
    {
      id: TENANT.id,
      domains: [TENANT.domain],
      graphPermissions: {
        [WRITER.appId]: ['Application.ReadWrite.All'],
        [READER.appId]: ['Application.Read.All'],
        [OWNED_BY.appId]: ['Application.ReadWrite.OwnedBy'],
        [NO_ROLE.appId]: ['User.Read.All'],
        [MI.clientId]: ['Application.Read.All'],
      },
      applications: [
        app(WRITER),
        app(READER),
        app(OWNED_BY),
        app(NO_ROLE),
        app(UNGRANTED),
        { id: TARGET.id, appId: TARGET.appId, displayName: 'managed-target' },
      ],
      managedIdentities: [
        {
          subscriptionId: SUB,
          resourceGroup: 'rg-broker',
          name: 'uami-broker',
          clientId: MI.clientId,
          principalId: MI.principalId,
          federatedIdentityCredentials: [trust(MI.subject)],
        },
      ],
    },
    {
      id: OTHER_TENANT.id,
      domains: [OTHER_TENANT.domain],
      graphPermissions: { [FOREIGN.appId]: ['Application.ReadWrite.All'] },
      applications: [app(FOREIGN)],
      managedIdentities: [
        {
          subscriptionId: OTHER_SUB,
          resourceGroup: 'rg-other',
          name: 'uami-other',
          clientId: '5c5c5c5c-0000-4000-8000-000000000003',
          principalId: '5c5c5c5c-0000-4000-8000-000000000004',
        },
      ],
    },
  ],
};

/** A stand-in that requires management tokens, with a fixed token lifetime so expiry tests can count on it. */
const MANAGEMENT_FIXTURE = {
  seed: MANAGEMENT_SEED,
  managementAuthentication: 'required',
  tokenLifetimeSeconds: 3600,
} as const;

const invalidToken = (message: string) => graphError('InvalidAuthenticationToken', message);
const EMPTY = invalidToken('Access token is empty.');
const VALIDATION_FAILURE = invalidToken('Access token validation failure.');
const FORBIDDEN = graphError(
  'Authorization_RequestDenied',
  'Insufficient privileges to complete the operation.',
);
const GRAPH_CHALLENGE =
  'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"';
const armError = (code: string, message: string) => ({ error: { code, message } });
const ARM_INVALID = armError('InvalidAuthenticationToken', 'The access token is invalid.');

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: replies are asserted field by field
  json: any;
}

const fic = (name: string) => ({ name, issuer: ISSUER, subject: name, audiences: [EXCHANGE_AUD] });
const armFic = (name: string) => ({
  properties: { issuer: ISSUER, subject: name, audiences: [EXCHANGE_AUD] },
});

describe('management API authentication', () => {
  let fx: EntraFixture;

  /** Sends a request to the composed stand-in; `authorization` as given (undefined: no header). */
  async function call(method: string, path: string, authorization?: string, body?: unknown): Promise<Reply> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization !== undefined) headers.authorization = authorization;
    const response = await fx.standIn.app.request(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      json: text ? JSON.parse(text) : undefined,
    };
  }
  const bearer = (token: string) => `Bearer ${token}`;

  /** An access token from the stand-in's own token endpoint: client credentials + a federated assertion. */
  async function accessToken(
    caller: { appId: string; subject: string },
    scope: string,
    tenant: string = TENANT.id,
  ): Promise<string> {
    const res = await fx.token(
      { client_id: caller.appId, client_assertion: await fx.assertion({ sub: caller.subject }), scope },
      { tenant },
    );
    expect(res.status).toBe(200);
    return res.body.access_token as string;
  }
  /** The same through the v1 endpoint, which takes `resource`. */
  async function v1AccessToken(
    caller: { appId: string; subject: string },
    resource: string,
  ): Promise<string> {
    const res = await fx.token(
      { client_id: caller.appId, client_assertion: await fx.assertion({ sub: caller.subject }), resource },
      { endpoint: 'v1' },
    );
    expect(res.status).toBe(200);
    return res.body.access_token as string;
  }
  /** Signs a token's own header and claims with another key; `kid` kept, so only the signature differs. */
  async function resigned(token: string, claims: Record<string, unknown> = {}): Promise<string> {
    const foreign = await EntraKeySet.create();
    return new CompactSign(new TextEncoder().encode(JSON.stringify({ ...decodeJwt(token), ...claims })))
      .setProtectedHeader({ ...decodeProtectedHeader(token), alg: 'RS256' })
      .sign(foreign.active.privateKey);
  }
  /** The token with its payload replaced but its signature kept. */
  const tampered = (token: string, claims: Record<string, unknown>): string => {
    const [header, , signature] = token.split('.');
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(token), ...claims })).toString('base64url');
    return `${header}.${payload}.${signature}`;
  };

  beforeAll(async () => {
    fx = await startEntraFixture(MANAGEMENT_FIXTURE);
  });
  afterAll(() => fx.close());

  describe('Graph: 401 InvalidAuthenticationToken', () => {
    it.each([
      ['GET', `/v1.0/applications/${TARGET.id}`],
      ['GET', GRAPH_FICS],
      ['POST', GRAPH_FICS],
      ['PATCH', `${GRAPH_FICS}/anything`],
      ['DELETE', `/beta/applications(appId='${TARGET.appId}')/federatedIdentityCredentials/anything`],
      ['GET', '/v1.0/not-a-route'],
    ])(
      'answers %s %s without an Authorization header with "Access token is empty."',
      async (method, path) => {
        const res = await call(
          method,
          path,
          undefined,
          method === 'POST' ? fic('unauthenticated') : undefined,
        );

        expect(res.status).toBe(401);
        expect(res.json).toEqual(EMPTY);
        expect(res.headers.get('www-authenticate')).toBe(GRAPH_CHALLENGE);
      },
    );

    it('writes nothing for an unauthenticated POST', async () => {
      await call('POST', GRAPH_FICS, undefined, fic('never-written'));

      const listed = await call('GET', GRAPH_FICS, bearer(await accessToken(READER, GRAPH)));
      expect(listed.json.value.map((f: { name: string }) => f.name)).not.toContain('never-written');
    });

    it.each(['', 'Bearer', 'Bearer   ', 'Basic dXNlcjpwYXNz'])(
      'answers "Access token is empty." for the header %j',
      async (header) => {
        const res = await call('GET', GRAPH_FICS, header);

        expect(res.status).toBe(401);
        expect(res.json).toEqual(EMPTY);
      },
    );

    it('answers IdentityModel IDX14100 for a token without dots', async () => {
      const res = await call('GET', GRAPH_FICS, 'Bearer not-a-jwt');

      expect(res.status).toBe(401);
      expect(res.json).toEqual(
        invalidToken(
          "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EncodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.",
        ),
      );
    });

    it.each([
      ['three garbage segments', async () => 'a.b.c'],
      ['an unsigned token (alg none)', async (t: string) => `${t.split('.').slice(0, 2).join('.')}.`],
      ['a token re-signed by another key under the same kid', (t: string) => resigned(t)],
      ['a token whose claims were changed after signing', async (t: string) => tampered(t, { roles: ['X'] })],
      [
        'a token signed by a foreign OIDC issuer',
        async (t: string) => (await createUnservedIssuer('https://foreign.example')).sign(decodeJwt(t)),
      ],
    ])('answers "Access token validation failure." for %s', async (_name, forge) => {
      const token = await forge(await accessToken(WRITER, GRAPH));

      const res = await call('POST', GRAPH_FICS, bearer(token), fic('forged'));

      expect(res.status).toBe(401);
      expect(res.json).toEqual(VALIDATION_FAILURE);
      expect(res.text).not.toContain(token);
    });

    // Signed with the stand-in's own key, so only the claim rules can refuse them.
    it.each([
      ['an issuer of another tenant than its tid', { iss: `https://sts.windows.net/${OTHER_TENANT.id}/` }],
      ['a tid the directory does not know', { tid: '99999999-0000-4000-8000-000000000000' }],
      ['a tid given as a domain name', { tid: TENANT.domain }],
      ['an issuer that is not Entra', { iss: ISSUER }],
      ['no oid', { oid: undefined }],
      ['no exp', { exp: undefined }],
      ['a string exp', { exp: '9999999999' }],
      ['an array aud', { aud: ['https://graph.microsoft.com'] }],
    ])(
      'answers "Access token validation failure." for a stand-in-signed token with %s',
      async (_name, claims) => {
        const real = decodeJwt(await accessToken(WRITER, GRAPH));
        const token = await fx.standIn.admin.keys.sign({ ...real, ...claims }, { x5t: true });

        const res = await call('GET', GRAPH_FICS, bearer(token));

        expect(res.status).toBe(401);
        expect(res.json).toEqual(VALIDATION_FAILURE);
      },
    );

    it('answers "Access token has expired or is not yet valid." for a stand-in-signed token whose nbf is ahead', async () => {
      const real = decodeJwt(await accessToken(WRITER, GRAPH));
      const token = await fx.standIn.admin.keys.sign({ ...real, nbf: fx.nowSeconds() + 60 }, { x5t: true });

      const graph = await call('GET', GRAPH_FICS, bearer(token));
      const arm = await call('GET', `${IDENTITY}${V}`, bearer(token));

      expect(graph.status).toBe(401);
      expect(graph.json).toEqual(invalidToken('Access token has expired or is not yet valid.'));
      expect(arm.status).toBe(401);
      expect(arm.json).toEqual(ARM_INVALID);
    });

    it('reads the Bearer scheme without case, as RFC 7235 has it', async () => {
      const token = await accessToken(READER, GRAPH);

      const res = await call('GET', GRAPH_FICS, `bearer ${token}`);

      expect(res.status).toBe(200);
    });

    it('accepts the same claims re-signed unchanged by the stand-in (the control for the case above)', async () => {
      const real = decodeJwt(await accessToken(WRITER, GRAPH));
      const token = await fx.standIn.admin.keys.sign(real, { x5t: true });

      const res = await call('GET', GRAPH_FICS, bearer(token));

      expect(res.status).toBe(200);
    });

    it.each([
      ['a token for an application API', `${TARGET.appId}/.default`],
      ['an ARM token', ARM],
      ['a token-exchange token', `${EXCHANGE_AUD}/.default`],
    ])('answers "Invalid audience." for %s', async (_name, scope) => {
      const token = await accessToken(WRITER, scope);

      const res = await call('GET', GRAPH_FICS, bearer(token));

      expect(res.status).toBe(401);
      expect(res.json).toEqual(invalidToken('Access token validation failure. Invalid audience.'));
      expect(res.text).not.toContain(token);
    });
  });

  describe('Graph: app roles (403 Authorization_RequestDenied)', () => {
    it('refuses every operation to a token without an Application role', async () => {
      const token = await accessToken(NO_ROLE, GRAPH);

      const read = await call('GET', GRAPH_FICS, bearer(token));
      const app = await call('GET', `/v1.0/applications/${TARGET.id}`, bearer(token));
      const write = await call('POST', GRAPH_FICS, bearer(token), fic('no-role'));

      expect([read.status, app.status, write.status]).toEqual([403, 403, 403]);
      expect(write.json).toEqual(FORBIDDEN);
    });

    it('lets Application.Read.All read but not write', async () => {
      const token = await accessToken(READER, GRAPH);

      const app = await call('GET', `/v1.0/applications(appId='${TARGET.appId}')`, bearer(token));
      const list = await call('GET', GRAPH_FICS, bearer(token));
      const post = await call('POST', GRAPH_FICS, bearer(token), fic('by-reader'));
      const patch = await call('PATCH', `${GRAPH_FICS}(name='by-reader')`, bearer(token), fic('by-reader'));
      const del = await call('DELETE', `${GRAPH_FICS}/anything`, bearer(token));

      expect([app.status, list.status]).toEqual([200, 200]);
      expect(app.json.id).toBe(TARGET.id);
      expect([post.status, patch.status, del.status]).toEqual([403, 403, 403]);
      expect(post.json).toEqual(FORBIDDEN);
      expect(patch.json).toEqual(FORBIDDEN);
      expect(del.json).toEqual(FORBIDDEN);
    });

    it('lets a managed identity granted Application.Read.All read', async () => {
      const token = await accessToken({ appId: MI.clientId, subject: MI.subject }, GRAPH);

      const res = await call('GET', GRAPH_FICS, bearer(token));

      expect(decodeJwt(token).roles).toEqual(['Application.Read.All']);
      expect(res.status).toBe(200);
    });

    it('lets Application.ReadWrite.All create, read, update and delete', async () => {
      const token = await accessToken(WRITER, GRAPH);

      const created = await call('POST', GRAPH_FICS, bearer(token), fic('by-writer'));
      const read = await call('GET', `${GRAPH_FICS}/${created.json.id}`, bearer(token));
      const patched = await call('PATCH', `${GRAPH_FICS}/${created.json.id}`, bearer(token), {
        description: 'changed',
      });
      const deleted = await call('DELETE', `${GRAPH_FICS}/${created.json.id}`, bearer(token));
      const gone = await call('GET', `${GRAPH_FICS}/${created.json.id}`, bearer(token));

      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ name: 'by-writer', subject: 'by-writer' });
      expect([read.status, patched.status, deleted.status, gone.status]).toEqual([200, 204, 204, 404]);
    });

    it('lets Application.ReadWrite.OwnedBy write (ownership is not modelled)', async () => {
      const token = await accessToken(OWNED_BY, GRAPH);

      const created = await call('POST', GRAPH_FICS, bearer(token), fic('by-owned-by'));

      expect(created.status).toBe(201);
    });

    it('issues Graph tokens with the tenant graphPermissions as roles, and none to an ungranted client', async () => {
      const writer = decodeJwt(await accessToken(WRITER, GRAPH));
      const ungrantedToken = await accessToken(UNGRANTED, GRAPH);

      const res = await call('GET', GRAPH_FICS, bearer(ungrantedToken));

      expect(writer).toMatchObject({
        aud: 'https://graph.microsoft.com',
        roles: ['Application.ReadWrite.All'],
      });
      expect(decodeJwt(ungrantedToken).roles).toBeUndefined();
      expect(res.status).toBe(403);
      expect(res.json).toEqual(FORBIDDEN);
    });

    it.each([
      ['the v1 endpoint with resource https://graph.microsoft.com/', 'v1', 'https://graph.microsoft.com/'],
      ['a scope naming Graph by app id', 'v2', `${GRAPH_APP_ID}/.default`],
    ])('accepts a Graph token from %s', async (_name, endpoint, identifier) => {
      const token =
        endpoint === 'v1' ? await v1AccessToken(READER, identifier) : await accessToken(READER, identifier);

      const res = await call('GET', GRAPH_FICS, bearer(token));

      expect(res.status).toBe(200);
    });
  });

  describe('Graph: another tenant', () => {
    it('answers 404 for an application of another tenant, exactly as for a missing one, and writes nothing', async () => {
      const foreign = await accessToken(FOREIGN, GRAPH, OTHER_TENANT.id);
      const missing = `Resource '${TARGET.id}' does not exist or one of its queried reference-property objects are not present.`;

      const read = await call('GET', `/v1.0/applications/${TARGET.id}`, bearer(foreign));
      const post = await call('POST', GRAPH_FICS, bearer(foreign), fic('from-another-tenant'));
      const byAppId = await call('GET', `/v1.0/applications(appId='${TARGET.appId}')`, bearer(foreign));
      const listed = await call('GET', GRAPH_FICS, bearer(await accessToken(READER, GRAPH)));

      expect(read.status).toBe(404);
      expect(read.json).toEqual(graphError('Request_ResourceNotFound', missing));
      expect(post.status).toBe(404);
      expect(post.json).toEqual(graphError('Request_ResourceNotFound', missing));
      expect(byAppId.status).toBe(404);
      expect(listed.json.value.map((f: { name: string }) => f.name)).not.toContain('from-another-tenant');
    });

    it("lets the other tenant's token manage its own tenant's applications", async () => {
      const foreign = await accessToken(FOREIGN, GRAPH, OTHER_TENANT.id);

      const res = await call(
        'GET',
        `/v1.0/applications(appId='${FOREIGN.appId}')/federatedIdentityCredentials`,
        bearer(foreign),
      );

      expect(res.status).toBe(200);
    });
  });

  describe('ARM: 401', () => {
    it.each([
      ['GET', `${IDENTITY}${V}`],
      ['PUT', `${IDENTITY}/federatedIdentityCredentials/unauthenticated${V}`],
      ['DELETE', `${IDENTITY}/federatedIdentityCredentials/unauthenticated${V}`],
      ['GET', IDENTITY],
      ['GET', `/subscriptions/${SUB}/not-a-route${V}`],
    ])('answers %s %s without an Authorization header with AuthenticationFailed', async (method, path) => {
      const res = await call(
        method,
        path,
        undefined,
        method === 'PUT' ? armFic('unauthenticated') : undefined,
      );

      expect(res.status).toBe(401);
      expect(res.json).toEqual(
        armError('AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing."),
      );
    });

    it('writes nothing for an unauthenticated PUT', async () => {
      await call('PUT', `${IDENTITY}/federatedIdentityCredentials/never-written${V}`, undefined, armFic('x'));

      const res = await call(
        'GET',
        `${IDENTITY}/federatedIdentityCredentials/never-written${V}`,
        bearer(await accessToken(WRITER, ARM)),
      );
      expect(res.status).toBe(404);
    });

    it.each(['Basic dXNlcjpwYXNz', 'Bearer', 'Token abc.def.ghi'])(
      'answers AuthenticationFailedInvalidHeader for the header %j',
      async (header) => {
        const res = await call('GET', `${IDENTITY}${V}`, header);

        expect(res.status).toBe(401);
        expect(res.json).toEqual(
          armError(
            'AuthenticationFailedInvalidHeader',
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
          ),
        );
      },
    );

    it.each([
      ['a token without dots', async () => 'not-a-jwt'],
      ['three garbage segments', async () => 'a.b.c'],
      ['a token re-signed by another key under the same kid', (t: string) => resigned(t)],
      [
        'a token whose claims were changed after signing',
        async (t: string) => tampered(t, { tid: OTHER_TENANT.id }),
      ],
      [
        'a token signed by a foreign OIDC issuer',
        async (t: string) => (await createUnservedIssuer('https://foreign.example')).sign(decodeJwt(t)),
      ],
    ])('answers InvalidAuthenticationToken for %s', async (_name, forge) => {
      const token = await forge(await accessToken(WRITER, ARM));

      const res = await call(
        'PUT',
        `${IDENTITY}/federatedIdentityCredentials/forged${V}`,
        bearer(token),
        armFic('f'),
      );

      expect(res.status).toBe(401);
      expect(res.json).toEqual(ARM_INVALID);
    });

    it('answers InvalidAuthenticationTokenAudience naming the audience of a Graph token', async () => {
      const token = await accessToken(WRITER, GRAPH);

      const res = await call('GET', `${IDENTITY}${V}`, bearer(token));

      expect(res.status).toBe(401);
      expect(res.json).toEqual(
        armError(
          'InvalidAuthenticationTokenAudience',
          "The access token has been obtained for wrong audience or resource 'https://graph.microsoft.com'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
        ),
      );
    });

    it("answers InvalidAuthenticationTokenTenant for another tenant's token on a known subscription", async () => {
      const foreign = await accessToken(FOREIGN, ARM, OTHER_TENANT.id);
      const expected = armError(
        'InvalidAuthenticationTokenTenant',
        `The access token is from the wrong issuer 'https://sts.windows.net/${OTHER_TENANT.id}/'. It must match the tenant 'https://sts.windows.net/${TENANT.id}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/${TENANT.id}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.`,
      );

      const put = await call(
        'PUT',
        `${IDENTITY}/federatedIdentityCredentials/foreign${V}`,
        bearer(foreign),
        armFic('f'),
      );
      const elsewhere = await call(
        'GET',
        `/subscriptions/${SUB}/resourceGroups/rg-none/providers/Microsoft.ManagedIdentity/userAssignedIdentities/none${V}`,
        bearer(foreign),
      );
      const own = await call('GET', `${FOREIGN_IDENTITY}${V}`, bearer(foreign));

      expect(put.status).toBe(401);
      expect(put.json).toEqual(expected);
      expect(elsewhere.json).toEqual(expected);
      expect(own.status).toBe(200);
    });
  });

  describe('ARM: a valid token', () => {
    it.each([
      ['scope https://management.azure.com/.default', 'v2', ARM],
      [
        'scope https://management.core.windows.net//.default',
        'v2',
        'https://management.core.windows.net//.default',
      ],
      ['scope naming ARM by app id', 'v2', `${ARM_APP_ID}/.default`],
      ['v1 resource https://management.core.windows.net/', 'v1', 'https://management.core.windows.net/'],
      ['v1 resource https://management.azure.com', 'v1', 'https://management.azure.com'],
    ])('creates, reads, lists and deletes FICs with a token from %s', async (_name, endpoint, identifier) => {
      const token =
        endpoint === 'v1' ? await v1AccessToken(WRITER, identifier) : await accessToken(WRITER, identifier);
      const name = `arm-${endpoint}-${identifier.length}`;
      const path = `${IDENTITY}/federatedIdentityCredentials/${name}${V}`;

      const put = await call('PUT', path, bearer(token), armFic(name));
      const get = await call('GET', path, bearer(token));
      const list = await call('GET', `${IDENTITY}/federatedIdentityCredentials${V}`, bearer(token));
      const del = await call('DELETE', path, bearer(token));

      expect(put.status).toBe(201);
      expect(get.json.properties).toEqual({ issuer: ISSUER, subject: name, audiences: [EXCHANGE_AUD] });
      expect(list.json.value.map((f: { name: string }) => f.name)).toContain(name);
      expect(del.status).toBe(200);
    });

    it('lets any valid token of the tenant write: RBAC is not modelled', async () => {
      const token = await accessToken(NO_ROLE, ARM);

      const put = await call(
        'PUT',
        `${IDENTITY}/federatedIdentityCredentials/no-rbac${V}`,
        bearer(token),
        armFic('n'),
      );

      expect(put.status).toBe(201);
    });

    it('checks the token before the api-version', async () => {
      const missing = await call('GET', IDENTITY);
      const valid = await call('GET', IDENTITY, bearer(await accessToken(WRITER, ARM)));

      expect(missing.json.error.code).toBe('AuthenticationFailed');
      expect(valid.json.error.code).toBe('MissingApiVersionParameter');
    });
  });
});

describe('management API authentication: token lifetime and signing keys', () => {
  let fx: EntraFixture;
  beforeEach(async () => {
    fx = await startEntraFixture(MANAGEMENT_FIXTURE);
  });
  afterEach(() => fx.close());

  const token = async (scope: string) => {
    const res = await fx.token({
      client_id: WRITER.appId,
      client_assertion: await fx.assertion({ sub: WRITER.subject }),
      scope,
    });
    return res.body.access_token as string;
  };
  const get = (path: string, accessToken: string) =>
    fx.standIn.app.request(path, { headers: { authorization: `Bearer ${accessToken}` } });

  it('accepts a Graph token until its exp and refuses it from exp on', async () => {
    const graph = await token(GRAPH);

    fx.clock.advance(3599);
    const before = await get(GRAPH_FICS, graph);
    fx.clock.advance(1);
    const at = await get(GRAPH_FICS, graph);

    expect(before.status).toBe(200);
    expect(at.status).toBe(401);
    expect(await at.json()).toEqual(invalidToken('Lifetime validation failed, the token is expired.'));
  });

  it('refuses an expired ARM token with ExpiredAuthenticationToken in .NET UTC times', async () => {
    const arm = await token(ARM);
    const exp = decodeJwt(arm).exp as number;

    fx.clock.advance(3600 + 61);
    const res = await get(`${IDENTITY}${V}`, arm);

    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(
      armError(
        'ExpiredAuthenticationToken',
        `The access token expiry UTC time '${dotNetUtc(exp)}' is earlier than current UTC time '${dotNetUtc(exp + 61)}'.`,
      ),
    );
  });

  it('accepts tokens signed by a rotated-out key while it is published, and refuses them once it is retired', async () => {
    const graph = await token(GRAPH);

    await fx.standIn.admin.keys.rotate();
    const published = await get(GRAPH_FICS, graph);
    fx.standIn.admin.keys.retireOldKeys();
    const retired = await get(GRAPH_FICS, graph);
    const fresh = await get(GRAPH_FICS, await token(GRAPH));

    expect(published.status).toBe(200);
    expect(retired.status).toBe(401);
    expect(await retired.json()).toEqual(VALIDATION_FAILURE);
    expect(fresh.status).toBe(200);
  });
});

describe('management authentication options', () => {
  const SEEDED = {
    tenants: [{ id: TENANT.id, managedIdentities: MANAGEMENT_SEED.tenants[0]?.managedIdentities }],
  };

  it('requires authentication by default in createEntraStandIn', async () => {
    const standIn = await createEntraStandIn({ seed: MANAGEMENT_SEED });

    const graph = await standIn.app.request(GRAPH_FICS);
    const arm = await standIn.app.request(`${IDENTITY}${V}`);

    expect(graph.status).toBe(401);
    expect(arm.status).toBe(401);
  });

  it('refuses to build routes that require authentication without the signing keys', () => {
    const directory = Directory.fromSeed(SEEDED);

    expect(() => graphRoutes(directory)).toThrow(
      "graph authentication 'required' needs the stand-in's signing keys",
    );
    expect(() => armRoutes(directory, { authentication: 'required' })).toThrow(
      "arm authentication 'required' needs the stand-in's signing keys",
    );
  });

  it('refuses an authentication mode that is neither required nor disabled', async () => {
    const directory = Directory.fromSeed(SEEDED);
    const keys = await EntraKeySet.create();

    expect(() => armRoutes(directory, { authentication: 'off' as unknown as 'disabled', keys })).toThrow(
      "arm authentication must be 'required' or 'disabled'",
    );
  });

  it('serves without a token only when told authentication is disabled', async () => {
    const directory = Directory.fromSeed(SEEDED);

    const res = await armRoutes(directory, { authentication: 'disabled' }).request(`${IDENTITY}${V}`);

    expect(res.status).toBe(200);
  });

  it.each([
    ['GET', ['Application.Read.All'], true],
    ['HEAD', ['Application.Read.All'], true],
    ['GET', ['Application.ReadWrite.OwnedBy'], true],
    ['POST', ['Application.Read.All'], false],
    ['PATCH', ['Application.ReadWrite.OwnedBy'], true],
    ['DELETE', ['Application.ReadWrite.All'], true],
    ['PUT', ['Application.Read.All'], false],
    ['GET', ['Directory.Read.All', 'User.Read.All'], false],
    ['GET', [], false],
  ])('graphRolesAllow(%s, %j) is %s', (method, roles, allowed) => {
    expect(graphRolesAllow(method, roles)).toBe(allowed);
  });

  it.each([
    [Date.UTC(2026, 5, 15, 8, 22, 51), '6/15/2026 8:22:51 AM'],
    [Date.UTC(2026, 11, 1, 21, 5, 9), '12/1/2026 9:05:09 PM'],
    [Date.UTC(1970, 0, 1, 0, 0, 0), '1/1/1970 12:00:00 AM'],
    [Date.UTC(1970, 0, 1, 12, 0, 0), '1/1/1970 12:00:00 PM'],
  ])('formats %d like .NET en-US UTC: %s', (ms, text) => {
    expect(dotNetUtc(ms / 1000)).toBe(text);
  });
});

describe('seed graphPermissions', () => {
  const seedWith = (graphPermissions: unknown) =>
    ({ tenants: [{ id: TENANT.id, graphPermissions }] }) as unknown as DirectorySeed;

  it('keeps the grants on the tenant, client ids lower-cased', () => {
    const directory = Directory.fromSeed(
      seedWith({ [WRITER.appId.toUpperCase()]: ['Application.Read.All'] }),
    );

    expect(directory.findTenant(TENANT.id)?.graphPermissions).toEqual({
      [WRITER.appId]: ['Application.Read.All'],
    });
  });

  it.each([
    ['not an object', ['x'], `invalid Entra seed: tenant '${TENANT.id}' graphPermissions: must be an object`],
    [
      'a key that is not a client id',
      { 'graph-writer': ['Application.Read.All'] },
      `invalid Entra seed: tenant '${TENANT.id}' graphPermissions['graph-writer']: must be a GUID`,
    ],
    [
      'roles that are not an array',
      { [WRITER.appId]: 'Application.Read.All' },
      `invalid Entra seed: tenant '${TENANT.id}' graphPermissions['${WRITER.appId}']: must be an array`,
    ],
    [
      'an empty role',
      { [WRITER.appId]: [''] },
      `invalid Entra seed: tenant '${TENANT.id}' graphPermissions['${WRITER.appId}'][0]: must be a non-empty string`,
    ],
  ])('refuses %s', (_name, value, message) => {
    expect(() => Directory.fromSeed(seedWith(value))).toThrow(message);
  });
});
