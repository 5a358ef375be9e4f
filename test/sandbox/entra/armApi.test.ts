// Tests the Entra stand-in's ARM routes for user-assigned identity FICs: api-version, statuses, ARM errors (§A.8).
import type { Hono } from 'hono';
import { beforeEach, describe, expect, it } from 'vitest';
import { armRoutes } from '../../../sandbox/entra/armApi.js';
import { Directory } from '../../../sandbox/entra/directory.js';

const TENANT = '11111111-1111-4111-8111-111111111111';
const SUB = 'cccccccc-0000-4000-8000-000000000001';
const CLIENT_ID = 'dddddddd-0000-4000-8000-000000000001';
const PRINCIPAL_ID = 'dddddddd-0000-4000-8000-000000000002';
const IDENTITY = `/subscriptions/${SUB}/resourceGroups/rg-demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-demo`;
const FICS = `${IDENTITY}/federatedIdentityCredentials`;
const V = '?api-version=2023-01-31';
const K8S = 'https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/';
const MUST_SPECIFY =
  "The request format was unexpected. Federated Identity Credential must specify 'issuer', 'subject' and 'audience'.";

let app: Hono;

beforeEach(() => {
  const directory = Directory.fromSeed({
    tenants: [
      {
        id: TENANT,
        managedIdentities: [
          {
            subscriptionId: SUB,
            resourceGroup: 'rg-demo',
            name: 'uami-demo',
            clientId: CLIENT_ID,
            principalId: PRINCIPAL_ID,
          },
        ],
      },
    ],
  });
  // These tests pin ARM's validation rules and wire format, not its authentication (managementAuth.test.ts
  // proves that end to end through the token endpoint), so they run without a bearer token.
  app = armRoutes(directory, { authentication: 'disabled' });
});

async function call(method: string, path: string, body?: unknown) {
  const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await app.request(`http://arm.test${path}`, init);
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

const properties = (overrides: Record<string, unknown> = {}) => ({
  issuer: K8S,
  subject: 'system:serviceaccount:default:broker',
  audiences: ['api://AzureADTokenExchange'],
  ...overrides,
});
const armError = (code: string, message: string) => ({ error: { code, message } });

describe('ARM api-version', () => {
  it.each(['2022-01-31-preview', '2023-01-31', '2024-11-30', '2025-05-31-preview'])(
    'accepts %s',
    async (version) => {
      // Act
      const { status } = await call('GET', `${IDENTITY}?api-version=${version}`);

      // Assess
      expect(status).toBe(200);
    },
  );

  it('refuses a missing api-version', async () => {
    // Act
    const { status, json } = await call('GET', IDENTITY);

    // Assess
    expect(status).toBe(400);
    expect(json).toEqual(
      armError(
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      ),
    );
  });

  it('refuses an unsupported api-version', async () => {
    // Act
    const { status, json } = await call('PUT', `${FICS}/fic-one?api-version=2018-11-30`, {
      properties: properties(),
    });

    // Assess
    expect(status).toBe(400);
    expect(json).toEqual(
      armError(
        'InvalidApiVersionParameter',
        "The api-version '2018-11-30' is invalid. The supported versions are '2022-01-31-preview,2023-01-31,2024-11-30,2025-05-31-preview'.",
      ),
    );
  });
});

describe('ARM user-assigned identity', () => {
  it('returns the identity, with canonical casing whatever the casing after /subscriptions/', async () => {
    // Act
    const { status, json } = await call(
      'GET',
      `/subscriptions${IDENTITY.slice('/subscriptions'.length).toUpperCase()}${V}`,
    );

    // Assess
    expect(status).toBe(200);
    expect(json).toEqual({
      id: IDENTITY,
      name: 'uami-demo',
      type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
      location: 'westeurope',
      tags: {},
      properties: { tenantId: TENANT, principalId: PRINCIPAL_ID, clientId: CLIENT_ID },
    });
  });

  it.each([
    ['GET identity', 'GET', IDENTITY.replace('uami-demo', 'missing')],
    ['list', 'GET', `${FICS.replace('uami-demo', 'missing')}`],
    ['PUT', 'PUT', `${FICS.replace('uami-demo', 'missing')}/fic-one`],
    ['DELETE', 'DELETE', `${FICS.replace('uami-demo', 'missing')}/fic-one`],
  ])(
    'answers 404 ResourceNotFound when the parent identity is missing (%s)',
    async (_label, method, path) => {
      // Act
      const { status, json } = await call(
        method,
        `${path}${V}`,
        method === 'PUT' ? { properties: properties() } : undefined,
      );

      // Assess
      expect(status).toBe(404);
      expect(json).toEqual(
        armError(
          'ResourceNotFound',
          "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/missing' under resource group 'rg-demo' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        ),
      );
    },
  );
});

describe('ARM federatedIdentityCredentials', () => {
  it('creates with PUT (201), replaces with PUT (200), and returns the ARM shape', async () => {
    // Act
    const created = await call('PUT', `${FICS}/fic-one${V}`, { properties: properties() });
    const replaced = await call('PUT', `${FICS}/FIC-ONE${V}`, {
      properties: properties({ subject: 'system:serviceaccount:prod:broker' }),
    });

    // Assess
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: `${FICS}/fic-one`,
      name: 'fic-one',
      type: 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials',
      properties: properties(),
    });
    expect(replaced.status).toBe(200);
    expect(replaced.json.properties.subject).toBe('system:serviceaccount:prod:broker');
    expect((await call('GET', `${FICS}${V}`)).json.value).toHaveLength(1);
  });

  it('gets one FIC and lists the collection', async () => {
    // Prepare
    await call('PUT', `${FICS}/fic-one${V}`, { properties: properties() });
    await call('PUT', `${FICS}/fic-two${V}`, { properties: properties({ subject: 'other' }) });

    // Act
    const one = await call('GET', `${FICS}/fic-two${V}`);
    const list = await call('GET', `${FICS}${V}`);

    // Assess
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ name: 'fic-two', properties: { subject: 'other' } });
    expect(list.status).toBe(200);
    expect(list.json.value.map((item: { name: string }) => item.name)).toEqual(['fic-one', 'fic-two']);
  });

  it('answers 404 for a missing FIC', async () => {
    // Act
    const { status, json } = await call('GET', `${FICS}/nothing${V}`);

    // Assess
    expect(status).toBe(404);
    expect(json).toEqual(
      armError(
        'ResourceNotFound',
        "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/uami-demo/federatedIdentityCredentials/nothing' under resource group 'rg-demo' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
      ),
    );
  });

  it('deletes: 200 when it existed, 204 when it did not', async () => {
    // Prepare
    await call('PUT', `${FICS}/fic-one${V}`, { properties: properties() });

    // Act
    const deleted = await call('DELETE', `${FICS}/fic-one${V}`);
    const again = await call('DELETE', `${FICS}/fic-one${V}`);

    // Assess
    expect(deleted.status).toBe(200);
    expect(again.status).toBe(204);
    expect((await call('GET', `${FICS}${V}`)).json.value).toEqual([]);
  });

  it.each<[string, string, unknown, string, string]>([
    ['an empty body', 'fic-one', {}, 'BadRequest', MUST_SPECIFY],
    ['empty properties', 'fic-one', { properties: {} }, 'BadRequest', MUST_SPECIFY],
    ['no issuer', 'fic-one', { properties: properties({ issuer: undefined }) }, 'BadRequest', MUST_SPECIFY],
    ['no subject', 'fic-one', { properties: properties({ subject: undefined }) }, 'BadRequest', MUST_SPECIFY],
    ['no audiences', 'fic-one', { properties: properties({ audiences: [] }) }, 'BadRequest', MUST_SPECIFY],
    [
      'two audiences',
      'fic-one',
      { properties: properties({ audiences: ['api://AzureADTokenExchange', 'other'] }) },
      'InvalidFederatedIdentityCredentialsAudienceLength',
      'Federated identity credentials must have exactly 1 audience.',
    ],
    [
      'an issuer of 601 characters',
      'fic-one',
      { properties: properties({ issuer: 'x'.repeat(601) }) },
      'BadRequest',
      'The issuer of a federated identity credential must be at most 600 characters.',
    ],
    [
      'a subject of 601 characters',
      'fic-one',
      { properties: properties({ subject: 'x'.repeat(601) }) },
      'BadRequest',
      'The subject of a federated identity credential must be at most 600 characters.',
    ],
    [
      'an invalid name',
      'fic.one',
      { properties: properties() },
      'BadRequest',
      'The name of a federated identity credentials must be within 3 and 120 characters, only contains letters (A-Z, a-z), numbers, hyphens and dashes and must start with a number or letter.',
    ],
    [
      'a name of 2 characters',
      'ab',
      { properties: properties() },
      'BadRequest',
      'The name of a federated identity credentials must be within 3 and 120 characters, only contains letters (A-Z, a-z), numbers, hyphens and dashes and must start with a number or letter.',
    ],
    [
      'audiences as a string',
      'fic-one',
      { properties: properties({ audiences: 'api://AzureADTokenExchange' }) },
      'InvalidRequestContent',
      "The request content was invalid and could not be deserialized: unexpected value at 'properties.audiences'.",
    ],
    [
      'a body that is not JSON',
      'fic-one',
      '{"properties":',
      'InvalidRequestContent',
      'The request content was invalid and could not be deserialized: the body is not valid JSON.',
    ],
  ])('refuses %s with 400', async (_label, name, body, code, message) => {
    // Act
    const { status, json } = await call('PUT', `${FICS}/${name}${V}`, body);

    // Assess
    expect(status).toBe(400);
    expect(json).toEqual(armError(code, message));
    expect((await call('GET', `${FICS}${V}`)).json.value).toEqual([]);
  });

  it('refuses a second FIC with the same issuer and subject', async () => {
    // Prepare
    await call('PUT', `${FICS}/fic-one${V}`, { properties: properties() });

    // Act
    const { status, json } = await call('PUT', `${FICS}/fic-two${V}`, { properties: properties() });

    // Assess
    expect(status).toBe(400);
    expect(json).toEqual(
      armError('BadRequest', 'Issuer and subject combination already exists for this Managed Identity.'),
    );
  });

  it('refuses the 21st FIC', async () => {
    // Prepare
    for (let i = 0; i < 20; i += 1) {
      expect(
        (await call('PUT', `${FICS}/fic-${i}${V}`, { properties: properties({ subject: `s-${i}` }) })).status,
      ).toBe(201);
    }

    // Act
    const { status, json } = await call('PUT', `${FICS}/fic-20${V}`, {
      properties: properties({ subject: 's-20' }),
    });

    // Assess
    expect(status).toBe(400);
    expect(json).toEqual(
      armError(
        'BadRequest',
        'Too many Federated Identity Credentials are written to this Managed Identity. The limit is 20.',
      ),
    );
  });

  it('refuses a claims matching expression on a user-assigned identity (2025-05-31-preview)', async () => {
    // Prepare
    const body = {
      properties: properties({
        issuer: 'https://token.actions.githubusercontent.com',
        subject: undefined,
        claimsMatchingExpression: { value: "claims['sub'] matches 'repo:*'", languageVersion: 1 },
      }),
    };

    // Act
    const { status, json } = await call('PUT', `${FICS}/fic-one?api-version=2025-05-31-preview`, body);

    // Assess
    expect(status).toBe(400);
    expect(json).toEqual(
      armError(
        'BadRequest',
        'Claims matching expressions are not supported on user-assigned managed identities.',
      ),
    );
  });

  it('answers 405 for a method the collection does not support', async () => {
    // Act
    const { status, json } = await call('POST', `${FICS}${V}`, { properties: properties() });

    // Assess
    expect(status).toBe(405);
    expect(json).toEqual(
      armError('MethodNotAllowed', "The requested resource does not support http method 'POST'."),
    );
  });

  it('answers 404 NotFound for a path outside Microsoft.ManagedIdentity', async () => {
    // Act
    const { status, json } = await call(
      'GET',
      `/subscriptions/${SUB}/resourceGroups/rg-demo/providers/Microsoft.Web/sites/x${V}`,
    );

    // Assess
    expect(status).toBe(404);
    expect(json).toEqual(armError('NotFound', 'No resource matches the request path.'));
  });
});
