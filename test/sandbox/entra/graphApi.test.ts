// Tests the Entra stand-in's Microsoft Graph FIC routes: statuses, Graph error bodies and each FIC rule (§A.7).
import type { Hono } from 'hono';
import { beforeEach, describe, expect, it } from 'vitest';
import { Directory } from '../../../sandbox/entra/directory.js';
import { graphRoutes } from '../../../sandbox/entra/graphApi.js';
import { graphError } from './standInFixture.js';

const TENANT = '11111111-1111-4111-8111-111111111111';
const OBJECT_ID = 'aaaaaaaa-0000-4000-8000-000000000001';
const APP_ID = 'aaaaaaaa-0000-4000-8000-000000000002';
const MISSING = 'ffffffff-0000-4000-8000-000000000000';
const GITHUB = 'https://token.actions.githubusercontent.com';
const ORIGIN = 'http://graph.test';
const FICS = `/v1.0/applications/${OBJECT_ID}/federatedIdentityCredentials`;
const BETA_FICS = `/beta/applications/${OBJECT_ID}/federatedIdentityCredentials`;
const OBJECT_TYPE = 'Microsoft.Online.DirectoryServices.Application';

let app: Hono;

beforeEach(() => {
  const directory = Directory.fromSeed({
    tenants: [
      {
        id: TENANT,
        domains: ['contoso.onmicrosoft.com'],
        applications: [
          {
            id: OBJECT_ID,
            appId: APP_ID,
            displayName: 'broker-demo',
            identifierUris: ['api://broker-demo'],
            requestedAccessTokenVersion: 2,
          },
        ],
      },
    ],
  });
  // These tests pin Graph's validation rules and wire format, not its authentication (managementAuth.test.ts
  // proves that end to end through the token endpoint), so they run without a bearer token.
  app = graphRoutes(directory, { authentication: 'disabled' });
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { 'content-type': 'application/json', ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await app.request(`${ORIGIN}${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

const fic = (overrides: Record<string, unknown> = {}) => ({
  name: 'github-main',
  issuer: GITHUB,
  subject: 'repo:contoso/app:ref:refs/heads/main',
  audiences: ['api://AzureADTokenExchange'],
  ...overrides,
});

const invalidValue = (property: string) =>
  graphError(
    'Request_BadRequest',
    `Invalid value specified for property '${property}' of resource 'FederatedIdentityCredential'.`,
  );

describe('Graph applications', () => {
  it.each([
    `/v1.0/applications/${OBJECT_ID}`,
    `/v1.0/applications(appId='${APP_ID}')`,
    `/beta/applications(appId=%27${APP_ID}%27)`,
  ])('returns the application basics at %s', async (path) => {
    // Act
    const { status, json } = await call('GET', path);

    // Assess
    expect(status).toBe(200);
    expect(json).toEqual({
      '@odata.context': expect.stringMatching(
        /^http:\/\/graph\.test\/(v1\.0|beta)\/\$metadata#applications\/\$entity$/,
      ),
      id: OBJECT_ID,
      appId: APP_ID,
      displayName: 'broker-demo',
      identifierUris: ['api://broker-demo'],
      publisherDomain: 'contoso.onmicrosoft.com',
      signInAudience: 'AzureADMyOrg',
      api: { requestedAccessTokenVersion: 2 },
    });
  });

  it.each([
    `/v1.0/applications/${MISSING}`,
    `/v1.0/applications(appId='${MISSING}')/federatedIdentityCredentials`,
  ])('answers 404 Request_ResourceNotFound for %s', async (path) => {
    // Act
    const { status, json } = await call('GET', path);

    // Assess
    expect(status).toBe(404);
    expect(json).toEqual(
      graphError(
        'Request_ResourceNotFound',
        `Resource '${MISSING}' does not exist or one of its queried reference-property objects are not present.`,
      ),
    );
  });

  it('echoes client-request-id in innerError and headers', async () => {
    // Act
    const { headers, json } = await call('GET', `/v1.0/applications/${MISSING}`, undefined, {
      'client-request-id': 'abc-123',
    });

    // Assess
    expect(json.error.innerError['client-request-id']).toBe('abc-123');
    expect(headers.get('client-request-id')).toBe('abc-123');
    expect(headers.get('request-id')).toBe(json.error.innerError['request-id']);
  });

  it('answers 400 for an unknown segment', async () => {
    // Act
    const { status, json } = await call('GET', `/v1.0/applications/${OBJECT_ID}/owners`);

    // Assess
    expect(status).toBe(400);
    expect(json).toEqual(graphError('BadRequest', "Resource not found for the segment 'owners'."));
  });

  it('answers 405 for a method the target does not support', async () => {
    // Act
    const { status, json } = await call('PUT', FICS, fic());

    // Assess
    expect(status).toBe(405);
    expect(json).toEqual(
      graphError('Request_BadRequest', 'Specified HTTP method is not allowed for the request target.'),
    );
  });
});

describe('Graph POST federatedIdentityCredentials', () => {
  it('creates a FIC: 201 with @odata.context, v1.0 shape without claimsMatchingExpression', async () => {
    // Act
    const { status, json } = await call('POST', FICS, { ...fic(), description: 'main branch' });

    // Assess
    expect(status).toBe(201);
    expect(json).toEqual({
      '@odata.context': `${ORIGIN}/v1.0/$metadata#applications('${OBJECT_ID}')/federatedIdentityCredentials/$entity`,
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'github-main',
      issuer: GITHUB,
      subject: 'repo:contoso/app:ref:refs/heads/main',
      description: 'main branch',
      audiences: ['api://AzureADTokenExchange'],
    });
  });

  it('creates through applications(appId=...) the same way, and beta shows claimsMatchingExpression', async () => {
    // Act
    const { status, json } = await call(
      'POST',
      `/beta/applications(appId='${APP_ID}')/federatedIdentityCredentials`,
      fic(),
    );

    // Assess
    expect(status).toBe(201);
    expect(json).toMatchObject({ name: 'github-main', description: null, claimsMatchingExpression: null });
    expect((await call('GET', FICS)).json.value).toHaveLength(1);
  });

  it('creates a flexible FIC in beta', async () => {
    // Prepare
    const claimsMatchingExpression = {
      value: "claims['sub'] matches 'repo:contoso/app:*'",
      languageVersion: 1,
    };

    // Act
    const { status, json } = await call('POST', BETA_FICS, fic({ subject: null, claimsMatchingExpression }));

    // Assess
    expect(status).toBe(201);
    expect(json).toMatchObject({ subject: null, claimsMatchingExpression });
  });

  const flexible = (value: string, extra: Record<string, unknown> = {}) =>
    fic({ subject: null, claimsMatchingExpression: { value, languageVersion: 1 }, ...extra });

  it.each<[string, string, unknown, number, unknown]>([
    [
      'an invalid name',
      FICS,
      fic({ name: 'feature/x' }),
      400,
      graphError(
        'InvalidFederatedIdentityCredentialValue',
        `The specified Name value is not a valid URI last segment. paramName: FederatedIdentityCredential.Name, paramValue: feature/x, objectType: ${OBJECT_TYPE}`,
      ),
    ],
    [
      'a name of 2 characters',
      FICS,
      fic({ name: 'ab' }),
      400,
      graphError(
        'InvalidFederatedIdentityCredentialValue',
        `The specified Name value is not a valid URI last segment. paramName: FederatedIdentityCredential.Name, paramValue: ab, objectType: ${OBJECT_TYPE}`,
      ),
    ],
    ['no issuer', FICS, fic({ issuer: undefined }), 400, invalidValue('issuer')],
    ['an issuer of 601 characters', FICS, fic({ issuer: 'x'.repeat(601) }), 400, invalidValue('issuer')],
    ['no subject', FICS, fic({ subject: undefined }), 400, invalidValue('subject')],
    ['a subject of 601 characters', FICS, fic({ subject: 'x'.repeat(601) }), 400, invalidValue('subject')],
    ['no audiences', FICS, fic({ audiences: [] }), 400, invalidValue('audiences')],
    [
      'two audiences',
      FICS,
      fic({ audiences: ['a', 'b'] }),
      400,
      graphError(
        'InvalidFederatedIdentityCredentialValue',
        "The 'audiences' collection must contain exactly one value.",
      ),
    ],
    [
      'an audience of 601 characters',
      FICS,
      fic({ audiences: ['x'.repeat(601)] }),
      400,
      invalidValue('audiences'),
    ],
    [
      'a description of 601 characters',
      FICS,
      fic({ description: 'x'.repeat(601) }),
      400,
      invalidValue('description'),
    ],
    [
      'audiences as a string',
      FICS,
      fic({ audiences: 'api://AzureADTokenExchange' }),
      400,
      invalidValue('audiences'),
    ],
    [
      'claimsMatchingExpression in v1.0',
      FICS,
      flexible("claims['sub'] eq 'x'"),
      400,
      graphError(
        'BadRequest',
        "The property 'claimsMatchingExpression' does not exist on type 'microsoft.graph.federatedIdentityCredential'. Make sure to only use property names that are defined by the type or mark the type as open type.",
      ),
    ],
    [
      'an unknown property',
      BETA_FICS,
      fic({ audience: 'x' }),
      400,
      graphError(
        'BadRequest',
        "The property 'audience' does not exist on type 'microsoft.graph.federatedIdentityCredential'. Make sure to only use property names that are defined by the type or mark the type as open type.",
      ),
    ],
    [
      'a body that is not JSON',
      FICS,
      '{"name":',
      400,
      graphError(
        'BadRequest',
        'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
      ),
    ],
    [
      'subject together with an expression',
      BETA_FICS,
      flexible("claims['sub'] eq 'x'", { subject: 'repo:x' }),
      400,
      graphError(
        'InvalidFederatedIdentityCredentialValue',
        "Only one of 'subject' and 'claimsMatchingExpression' can be set on a federated identity credential.",
      ),
    ],
    [
      'languageVersion 2',
      BETA_FICS,
      fic({ subject: null, claimsMatchingExpression: { value: "claims['sub'] eq 'x'", languageVersion: 2 } }),
      400,
      graphError(
        'InvalidFederatedIdentityCredentialValue',
        "The 'languageVersion' of claimsMatchingExpression must be 1.",
      ),
    ],
    [
      'an unparsable expression',
      BETA_FICS,
      flexible("claims['sub'] == 'x'"),
      400,
      graphError(
        'InvalidFederatedIdentityCredentialValue',
        "The claimsMatchingExpression is invalid: expected operator 'eq' or 'matches' followed by one space at position 14.",
      ),
    ],
    [
      'an expression for an issuer without flexible FICs',
      BETA_FICS,
      flexible("claims['sub'] eq 'x'", { issuer: 'https://accounts.google.com' }),
      400,
      graphError(
        'InvalidFederatedIdentityCredentialValue',
        "The claimsMatchingExpression is not allowed: issuer 'https://accounts.google.com' does not support claims matching expressions.",
      ),
    ],
  ])('refuses %s', async (_label, path, body, status, expected) => {
    // Act
    const response = await call('POST', path, body);

    // Assess
    expect(response.status).toBe(status);
    expect(response.json).toEqual(expected);
    expect((await call('GET', FICS)).json.value).toEqual([]);
  });

  it('answers 409 Request_MultipleObjectsWithSameKeyValue for a duplicate name', async () => {
    // Prepare
    await call('POST', FICS, fic());

    // Act
    const { status, json } = await call('POST', FICS, fic({ subject: 'repo:other' }));

    // Assess
    expect(status).toBe(409);
    expect(json).toEqual(
      graphError(
        'Request_MultipleObjectsWithSameKeyValue',
        'FederatedIdentityCredential with name github-main already exists.',
      ),
    );
  });

  it('answers 400 for a duplicate issuer and subject', async () => {
    // Prepare
    await call('POST', FICS, fic());

    // Act
    const { status, json } = await call('POST', FICS, fic({ name: 'second' }));

    // Assess
    expect(status).toBe(400);
    expect(json).toEqual(
      graphError(
        'InvalidFederatedIdentityCredentialValue',
        `The combination of issuer and subject must be unique for the application. Issuer ${GITHUB} and Subject: repo:contoso/app:ref:refs/heads/main already exist. paramName: FederatedIdentityCredential.Subject, paramValue: repo:contoso/app:ref:refs/heads/main, objectType: ${OBJECT_TYPE}`,
      ),
    );
  });

  it('refuses the 21st FIC', async () => {
    // Prepare
    for (let i = 0; i < 20; i += 1) {
      expect((await call('POST', FICS, fic({ name: `fic-${i}`, subject: `s-${i}` }))).status).toBe(201);
    }

    // Act
    const { status, json } = await call('POST', FICS, fic({ name: 'fic-20', subject: 's-20' }));

    // Assess
    expect(status).toBe(400);
    expect(json).toEqual(
      graphError(
        'Request_BadRequest',
        'Maximum number of federated identity credentials (20) reached for this application.',
      ),
    );
  });
});

describe('Graph list, get, update, upsert, delete', () => {
  async function created(overrides: Record<string, unknown> = {}) {
    const { json } = await call('POST', FICS, fic(overrides));
    return json as { id: string; name: string };
  }

  it('lists FICs with @odata.context and value', async () => {
    // Prepare
    const first = await created();

    // Act
    const { status, json } = await call('GET', FICS);

    // Assess
    expect(status).toBe(200);
    expect(json).toEqual({
      '@odata.context': `${ORIGIN}/v1.0/$metadata#applications('${OBJECT_ID}')/federatedIdentityCredentials`,
      value: [
        {
          id: first.id,
          name: 'github-main',
          issuer: GITHUB,
          subject: 'repo:contoso/app:ref:refs/heads/main',
          description: null,
          audiences: ['api://AzureADTokenExchange'],
        },
      ],
    });
  });

  it.each([
    ["name eq 'second'", ['second']],
    ["subject eq 'repo:contoso/app:ref:refs/heads/main'", ['github-main']],
    ["name eq 'none'", []],
  ])('filters the list with $filter=%s', async (filter, names) => {
    // Prepare
    await created();
    await created({ name: 'second', subject: 'repo:second' });

    // Act
    const { status, json } = await call('GET', `${FICS}?$filter=${encodeURIComponent(filter)}`);

    // Assess
    expect(status).toBe(200);
    expect(json.value.map((item: { name: string }) => item.name)).toEqual(names);
  });

  it('refuses a $filter Graph does not support', async () => {
    // Act
    const { status, json } = await call(
      'GET',
      `${FICS}?$filter=${encodeURIComponent("startswith(name,'a')")}`,
    );

    // Assess
    expect(status).toBe(400);
    expect(json).toEqual(graphError('Request_UnsupportedQuery', 'Unsupported Query.'));
  });

  it.each([
    ['id', (id: string) => `${FICS}/${id}`],
    ['name', () => `${FICS}(name='github-main')`],
    [
      'name through appId',
      () => `/v1.0/applications(appId='${APP_ID}')/federatedIdentityCredentials(name='github-main')`,
    ],
  ])('gets one FIC by %s', async (_label, path) => {
    // Prepare
    const first = await created();

    // Act
    const { status, json } = await call('GET', path(first.id));

    // Assess
    expect(status).toBe(200);
    expect(json).toMatchObject({
      '@odata.context': `${ORIGIN}/v1.0/$metadata#applications('${OBJECT_ID}')/federatedIdentityCredentials/$entity`,
      id: first.id,
      name: 'github-main',
    });
  });

  it.each([`${FICS}/${MISSING}`, `${FICS}(name='missing')`])(
    'answers 404 for a missing FIC at %s',
    async (path) => {
      // Act
      const { status, json } = await call('GET', path);

      // Assess
      expect(status).toBe(404);
      expect(json.error.code).toBe('Request_ResourceNotFound');
    },
  );

  it('updates with PATCH: 204, then GET shows the change', async () => {
    // Prepare
    const first = await created();

    // Act
    const patched = await call('PATCH', `${FICS}/${first.id}`, {
      subject: 'repo:contoso/app:environment:prod',
    });

    // Assess
    expect(patched.status).toBe(204);
    expect(patched.json).toBeUndefined();
    expect((await call('GET', `${FICS}/${first.id}`)).json.subject).toBe('repo:contoso/app:environment:prod');
  });

  it('refuses to rename with PATCH', async () => {
    // Prepare
    const first = await created();

    // Act
    const { status, json } = await call('PATCH', `${FICS}/${first.id}`, { name: 'renamed' });

    // Assess
    expect(status).toBe(400);
    expect(json).toEqual(
      graphError('Request_BadRequest', "Property 'name' is immutable and cannot be changed once set."),
    );
  });

  it('validates the merged FIC on PATCH', async () => {
    // Prepare
    const first = await created();

    // Act
    const { status, json } = await call('PATCH', `${FICS}/${first.id}`, { audiences: ['a', 'b'] });

    // Assess
    expect(status).toBe(400);
    expect(json.error.code).toBe('InvalidFederatedIdentityCredentialValue');
    expect((await call('GET', `${FICS}/${first.id}`)).json.audiences).toEqual(['api://AzureADTokenExchange']);
  });

  it('answers 404 to PATCH of a missing id', async () => {
    // Act
    const { status } = await call('PATCH', `${FICS}/${MISSING}`, { description: 'x' });

    // Assess
    expect(status).toBe(404);
  });

  it("treats PATCH (name='…') without Prefer: create-if-missing as an update (404 when absent)", async () => {
    // Act
    const { status, json } = await call('PATCH', `${FICS}(name='new-one')`, fic({ name: undefined }));

    // Assess
    expect(status).toBe(404);
    expect(json.error.code).toBe('Request_ResourceNotFound');
    expect((await call('GET', FICS)).json.value).toEqual([]);
  });

  it("upserts with PATCH (name='…') and Prefer: create-if-missing: 201 when absent", async () => {
    // Act
    const { status, json } = await call('PATCH', `${FICS}(name='new-one')`, fic({ name: undefined }), {
      prefer: 'create-if-missing',
    });

    // Assess
    expect(status).toBe(201);
    expect(json).toMatchObject({
      '@odata.context': `${ORIGIN}/v1.0/$metadata#applications('${OBJECT_ID}')/federatedIdentityCredentials/$entity`,
      name: 'new-one',
      issuer: GITHUB,
    });
  });

  it("upserts with PATCH (name='…') and Prefer: create-if-missing: 204 and a merge when present", async () => {
    // Prepare
    const first = await created({ description: 'kept' });

    // Act
    const { status } = await call(
      'PATCH',
      `${FICS}(name='github-main')`,
      { subject: 'repo:upserted' },
      {
        prefer: 'return=minimal, create-if-missing',
      },
    );

    // Assess
    expect(status).toBe(204);
    expect((await call('GET', `${FICS}/${first.id}`)).json).toMatchObject({
      subject: 'repo:upserted',
      description: 'kept',
    });
  });

  it('refuses an upsert whose URL name is invalid', async () => {
    // Act
    const { status, json } = await call('PATCH', `${FICS}(name='a.b')`, fic({ name: undefined }), {
      prefer: 'create-if-missing',
    });

    // Assess
    expect(status).toBe(400);
    expect(json.error.code).toBe('InvalidFederatedIdentityCredentialValue');
  });

  it('deletes with DELETE: 204, then 404', async () => {
    // Prepare
    const first = await created();

    // Act
    const deleted = await call('DELETE', `${FICS}(name='github-main')`);
    const again = await call('DELETE', `${FICS}/${first.id}`);

    // Assess
    expect(deleted.status).toBe(204);
    expect(again.status).toBe(404);
    expect((await call('GET', FICS)).json.value).toEqual([]);
  });

  it('hides a beta flexible FIC expression in v1.0 responses', async () => {
    // Prepare
    const claimsMatchingExpression = { value: "claims['sub'] matches 'repo:*'", languageVersion: 1 };
    await call('POST', BETA_FICS, fic({ subject: null, claimsMatchingExpression }));

    // Act
    const v1 = await call('GET', `${FICS}(name='github-main')`);
    const beta = await call('GET', `${BETA_FICS}(name='github-main')`);

    // Assess
    expect(v1.json).not.toHaveProperty('claimsMatchingExpression');
    expect(v1.json.subject).toBeNull();
    expect(beta.json.claimsMatchingExpression).toEqual(claimsMatchingExpression);
  });
});
