// Tests the Entra stand-in's Directory: seed loading, look-ups, and every FIC rule of protocols.md §A.7/§A.8.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Directory, type FicOwnerRef } from '../../../sandbox/entra/directory.js';
import type { FicInput } from '../../../sandbox/entra/ficValidation.js';
import { TOKEN_EXCHANGE_APP_ID } from '../../../sandbox/entra/firstPartyResources.js';
import type { DirectorySeed } from '../../../sandbox/entra/model.js';

const TENANT = '11111111-1111-4111-8111-111111111111';
const OTHER_TENANT = '22222222-2222-4222-8222-222222222222';
const APP_OBJECT = 'aaaaaaaa-0000-4000-8000-000000000001';
const APP_ID = 'aaaaaaaa-0000-4000-8000-000000000002';
const OTHER_APP_ID = 'bbbbbbbb-0000-4000-8000-000000000002';
const SUB = 'cccccccc-0000-4000-8000-000000000001';
const MI_CLIENT = 'dddddddd-0000-4000-8000-000000000001';
const GITHUB = 'https://token.actions.githubusercontent.com';

const APP: FicOwnerRef = { kind: 'application', objectId: APP_OBJECT };
const MI: FicOwnerRef = { kind: 'managedIdentity', subscriptionId: SUB, resourceGroup: 'rg', name: 'uami' };

function seed(): DirectorySeed {
  return {
    tenants: [
      {
        id: TENANT,
        domains: ['contoso.onmicrosoft.com'],
        applications: [
          {
            id: APP_OBJECT,
            appId: APP_ID,
            displayName: 'broker-demo',
            identifierUris: ['api://broker-demo'],
            requestedAccessTokenVersion: 2,
          },
          { appId: 'aaaaaaaa-0000-4000-8000-000000000003', displayName: 'no-uri-app' },
        ],
        managedIdentities: [
          {
            subscriptionId: SUB,
            resourceGroup: 'rg',
            name: 'uami',
            clientId: MI_CLIENT,
            principalId: 'dddddddd-0000-4000-8000-000000000002',
          },
        ],
        resources: [
          {
            appId: 'eeeeeeee-0000-4000-8000-000000000001',
            identifierUris: ['https://custom.example'],
            displayName: 'Custom',
            accessTokenVersion: 2,
          },
        ],
      },
      {
        id: OTHER_TENANT,
        domains: ['fabrikam.onmicrosoft.com'],
        applications: [
          {
            appId: OTHER_APP_ID,
            displayName: 'other',
            identifierUris: ['api://other'],
            requestedAccessTokenVersion: 1,
          },
        ],
      },
    ],
  };
}

const valid = (overrides: FicInput = {}): FicInput => ({
  name: 'github-main',
  issuer: GITHUB,
  subject: 'repo:contoso/app:ref:refs/heads/main',
  audiences: ['api://AzureADTokenExchange'],
  ...overrides,
});

const expression = (value: string, languageVersion = 1) => ({ value, languageVersion });

describe('Directory.fromSeed', () => {
  it('loads the default seed.json', () => {
    // Prepare
    const json = JSON.parse(
      readFileSync(new URL('../../../sandbox/entra/seed.json', import.meta.url), 'utf8'),
    );

    // Act
    const directory = Directory.fromSeed(json);

    // Assess
    const tenant = directory.findTenant('contoso.onmicrosoft.com');
    expect(tenant?.id).toMatch(/^[0-9a-f-]{36}$/);
    const app = directory.listApplications(tenant?.id).find((a) => a.displayName === 'broker-demo');
    expect(app?.identifierUris.length).toBeGreaterThan(0);
    expect(directory.listManagedIdentities(tenant?.id)).toHaveLength(1);
  });

  it.each<[string, (s: DirectorySeed) => unknown, string]>([
    ['a seed that is not an object', () => 'nope', 'invalid Entra seed: seed: must be an object'],
    ['tenants missing', () => ({}), 'seed.tenants: must be an array'],
    [
      'a tenant id that is not a GUID',
      (s) => set(s, (t) => Object.assign(t, { id: 'contoso' })),
      'tenant #0 id: must be a GUID',
    ],
    [
      'an app without displayName',
      (s) => set(s, (t) => t.applications?.push({ appId: 'aaaaaaaa-0000-4000-8000-00000000000f' } as never)),
      "application 'aaaaaaaa-0000-4000-8000-00000000000f' (appId aaaaaaaa-0000-4000-8000-00000000000f) displayName",
    ],
    [
      'an appId reused in another tenant',
      (s) => set(s, (t) => t.applications?.push({ appId: OTHER_APP_ID, displayName: 'dup' })),
      `application 'other' (appId ${OTHER_APP_ID}): duplicates application 'dup'`,
    ],
    [
      'a duplicated domain',
      (s) => set(s, (t) => t.domains?.push('FABRIKAM.onmicrosoft.com')),
      "tenant '22222222-2222-4222-8222-222222222222' domain 'fabrikam.onmicrosoft.com': duplicates",
    ],
    [
      'an invalid requestedAccessTokenVersion',
      (s) => set(s, (t) => Object.assign(t.applications?.[0] ?? {}, { requestedAccessTokenVersion: 3 })),
      'requestedAccessTokenVersion: must be 1 or 2',
    ],
    [
      'a FIC with two audiences',
      (s) =>
        set(s, (t) =>
          Object.assign(t.applications?.[0] ?? {}, {
            federatedIdentityCredentials: [ficSeed({ audiences: ['a', 'b'] })],
          }),
        ),
      "application 'broker-demo' (appId aaaaaaaa-0000-4000-8000-000000000002) federated identity credential 'seeded': audiences must contain exactly one value",
    ],
    [
      'a flexible FIC on a managed identity',
      (s) =>
        set(s, (t) =>
          Object.assign(t.managedIdentities?.[0] ?? {}, {
            federatedIdentityCredentials: [
              ficSeed({
                subject: null,
                claimsMatchingExpression: { value: "claims['sub'] eq 'x'", languageVersion: 1 },
              }),
            ],
          }),
        ),
      "managed identity 'uami' federated identity credential 'seeded': claimsMatchingExpression is supported on applications only",
    ],
    [
      '21 FICs on one app',
      (s) =>
        set(s, (t) =>
          Object.assign(t.applications?.[0] ?? {}, {
            federatedIdentityCredentials: Array.from({ length: 21 }, (_, i) =>
              ficSeed({ name: `fic-${i}`, subject: `s${i}` }),
            ),
          }),
        ),
      "federated identity credential 'fic-20': at most 20 federated identity credentials per owner",
    ],
    [
      'a FIC audience that is not a string',
      (s) =>
        set(s, (t) =>
          Object.assign(t.applications?.[0] ?? {}, {
            federatedIdentityCredentials: [ficSeed({ audiences: [1] as never })],
          }),
        ),
      "federated identity credential 'seeded' audiences[0]: must be a string",
    ],
  ])('refuses %s, naming the object', (_label, mutate, message) => {
    // Prepare
    const bad = mutate(seed());

    // Act / Assess
    expect(() => Directory.fromSeed(bad as DirectorySeed)).toThrow(message);
  });
});

function set(s: DirectorySeed, change: (tenant: DirectorySeed['tenants'][number]) => unknown): DirectorySeed {
  const first = s.tenants[0];
  if (!first) throw new Error('seed has no tenant');
  change(first);
  return s;
}

function ficSeed(overrides: Record<string, unknown>) {
  return {
    name: 'seeded',
    issuer: GITHUB,
    subject: 'repo:x',
    audiences: ['api://AzureADTokenExchange'],
    description: null,
    claimsMatchingExpression: null,
    ...overrides,
  };
}

describe('Directory look-ups', () => {
  const directory = Directory.fromSeed(seed());

  it.each([TENANT, TENANT.toUpperCase(), 'contoso.onmicrosoft.com', 'Contoso.OnMicrosoft.COM'])(
    'finds the tenant by %s',
    (key) => {
      // Act / Assess
      expect(directory.findTenant(key)?.id).toBe(TENANT);
    },
  );

  it('does not find an unknown tenant', () => {
    // Act / Assess
    expect(directory.findTenant('nowhere.onmicrosoft.com')).toBeUndefined();
  });

  it('finds an app and a managed identity as clients of their own tenant only', () => {
    // Act
    const app = directory.findClient('contoso.onmicrosoft.com', APP_ID.toUpperCase());
    const mi = directory.findClient(TENANT, MI_CLIENT);
    const elsewhere = directory.findClient(OTHER_TENANT, APP_ID);

    // Assess
    expect(app).toMatchObject({ kind: 'application', appId: APP_ID, tenantId: TENANT });
    expect(mi).toMatchObject({ kind: 'managedIdentity', clientId: MI_CLIENT, tenantId: TENANT });
    expect(elsewhere).toBeUndefined();
  });

  it.each([
    ['https://graph.microsoft.com', '00000003-0000-0000-c000-000000000000', 1],
    ['https://graph.microsoft.com/', '00000003-0000-0000-c000-000000000000', 1],
    ['00000003-0000-0000-c000-000000000000', '00000003-0000-0000-c000-000000000000', 1],
    ['https://vault.azure.net', 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093', 1],
    ['https://management.azure.com/', '797f4846-ba00-4fd7-ba43-dac1f8f63013', 1],
    ['https://management.azure.com', '797f4846-ba00-4fd7-ba43-dac1f8f63013', 1],
    ['https://management.core.windows.net/', '797f4846-ba00-4fd7-ba43-dac1f8f63013', 1],
    ['https://storage.azure.com', 'e406a681-f3d4-42a8-90b6-c2b029497af1', 1],
    ['api://AzureADTokenExchange', TOKEN_EXCHANGE_APP_ID, 2],
    ['https://custom.example/', 'eeeeeeee-0000-4000-8000-000000000001', 2],
    ['api://broker-demo', APP_ID, 2],
    ['API://Broker-Demo/', APP_ID, 2],
    [APP_ID, APP_ID, 2],
    ['aaaaaaaa-0000-4000-8000-000000000003', 'aaaaaaaa-0000-4000-8000-000000000003', 1],
  ])('resolves resource %s', (identifier, appId, version) => {
    // Act
    const resource = directory.findResource(TENANT, identifier);

    // Assess
    expect(resource).toMatchObject({ appId, accessTokenVersion: version });
  });

  it.each([
    ['an unknown URI', 'https://unknown.example'],
    ['two trailing slashes', 'https://graph.microsoft.com//'],
    ["another tenant's app", 'api://other'],
  ])('does not resolve %s', (_label, identifier) => {
    // Act / Assess
    expect(directory.findResource(TENANT, identifier)).toBeUndefined();
  });

  it('hands out copies, so a caller cannot change the directory', () => {
    // Prepare
    const app = directory.findApplicationByObjectId(APP_OBJECT);
    app?.federatedIdentityCredentials.push({ id: 'x' } as never);
    app?.identifierUris.push('api://hijack');

    // Act
    const again = directory.findApplicationByAppId(APP_ID);

    // Assess
    expect(again?.federatedIdentityCredentials).toEqual([]);
    expect(directory.findResource(TENANT, 'api://hijack')).toBeUndefined();
  });

  it('finds a managed identity by ARM coordinates, ignoring case', () => {
    // Act / Assess
    expect(directory.findManagedIdentity(SUB.toUpperCase(), 'RG', 'UAMI')?.clientId).toBe(MI_CLIENT);
    expect(directory.findManagedIdentity(SUB, 'other-rg', 'uami')).toBeUndefined();
  });
});

describe('Directory FIC rules', () => {
  const long = (n: number) => 'x'.repeat(n);

  it.each<[string, FicInput, string]>([
    ['name missing', valid({ name: undefined }), 'name_invalid'],
    ['name of 2 characters', valid({ name: 'ab' }), 'name_invalid'],
    ['name of 121 characters', valid({ name: `a${long(120)}` }), 'name_invalid'],
    ['name starting with -', valid({ name: '-abc' }), 'name_invalid'],
    ['name starting with _', valid({ name: '_abc' }), 'name_invalid'],
    ['name with a dot', valid({ name: 'my.fic' }), 'name_invalid'],
    ['name with a space', valid({ name: 'my fic' }), 'name_invalid'],
    ['name with a slash', valid({ name: 'feature/x' }), 'name_invalid'],
    ['issuer missing', valid({ issuer: undefined }), 'issuer_required'],
    ['issuer empty', valid({ issuer: '' }), 'issuer_required'],
    ['issuer of 601 characters', valid({ issuer: `https://${long(593)}` }), 'issuer_too_long'],
    ['subject missing', valid({ subject: undefined }), 'subject_required'],
    ['subject null', valid({ subject: null }), 'subject_required'],
    ['subject of 601 characters', valid({ subject: long(601) }), 'subject_too_long'],
    ['audiences missing', valid({ audiences: undefined }), 'audiences_required'],
    ['audiences empty', valid({ audiences: [] }), 'audiences_required'],
    ['audience empty string', valid({ audiences: [''] }), 'audiences_required'],
    ['two audiences', valid({ audiences: ['api://AzureADTokenExchange', 'other'] }), 'audiences_count'],
    ['audience of 601 characters', valid({ audiences: [long(601)] }), 'audience_too_long'],
    ['description of 601 characters', valid({ description: long(601) }), 'description_too_long'],
    [
      'subject together with an expression',
      valid({ claimsMatchingExpression: expression("claims['sub'] matches 'repo:*'") }),
      'subject_and_expression',
    ],
    [
      'expression languageVersion 2',
      valid({ subject: null, claimsMatchingExpression: expression("claims['sub'] matches 'repo:*'", 2) }),
      'expression_language_version',
    ],
    [
      'unparsable expression',
      valid({ subject: null, claimsMatchingExpression: expression("claims['sub'] like 'repo:*'") }),
      'expression_invalid',
    ],
    [
      'expression for an issuer without flexible FICs',
      valid({
        issuer: 'https://accounts.google.com',
        subject: null,
        claimsMatchingExpression: expression("claims['sub'] eq '1'"),
      }),
      'expression_not_allowed',
    ],
    [
      'expression on a claim the issuer does not allow',
      valid({ subject: null, claimsMatchingExpression: expression("claims['environment'] eq 'prod'") }),
      'expression_not_allowed',
    ],
  ])('refuses %s on an application', (_label, input, code) => {
    // Prepare
    const directory = Directory.fromSeed(seed());

    // Act
    const result = directory.createFic(APP, input);

    // Assess
    expect(result.ok ? 'created' : result.error.code).toBe(code);
    expect(directory.listFics(APP)).toEqual({ ok: true, value: [] });
  });

  it.each<[string, FicInput]>([
    ['name of 3 characters', valid({ name: 'a-_' })],
    ['name of 120 characters', valid({ name: `A${'9'.repeat(119)}` })],
    [
      'fields of exactly 600 characters',
      valid({ issuer: long(600), subject: long(600), audiences: [long(600)], description: long(600) }),
    ],
    ['any audience value (not fixed across IdPs)', valid({ audiences: ['https://my-idp.example/aud'] })],
  ])('accepts %s', (_label, input) => {
    // Prepare
    const directory = Directory.fromSeed(seed());

    // Act
    const result = directory.createFic(APP, input);

    // Assess
    expect(result.ok).toBe(true);
  });

  it('creates a FIC with a fresh GUID, nulls for absent optional fields', () => {
    // Prepare
    const directory = Directory.fromSeed(seed());

    // Act
    const result = directory.createFic(APP, valid());

    // Assess
    expect(result).toEqual({
      ok: true,
      value: {
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        name: 'github-main',
        issuer: GITHUB,
        subject: 'repo:contoso/app:ref:refs/heads/main',
        audiences: ['api://AzureADTokenExchange'],
        description: null,
        claimsMatchingExpression: null,
      },
    });
    expect(directory.findClient(TENANT, APP_ID)?.federatedIdentityCredentials).toHaveLength(1);
  });

  it('creates a flexible FIC on an application with a null subject', () => {
    // Prepare
    const directory = Directory.fromSeed(seed());
    const claimsMatchingExpression = expression("claims['sub'] matches 'repo:contoso/*'");

    // Act
    const result = directory.createFic(APP, valid({ subject: null, claimsMatchingExpression }));

    // Assess
    expect(result.ok && result.value).toMatchObject({ subject: null, claimsMatchingExpression });
  });

  it('refuses a flexible FIC on a user-assigned managed identity', () => {
    // Prepare
    const directory = Directory.fromSeed(seed());

    // Act
    const result = directory.createFic(
      MI,
      valid({ subject: null, claimsMatchingExpression: expression("claims['sub'] matches 'repo:*'") }),
    );

    // Assess
    expect(result.ok ? 'created' : result.error.code).toBe('expression_unsupported_owner');
  });

  it('refuses a second FIC with the same name, ignoring case', () => {
    // Prepare
    const directory = Directory.fromSeed(seed());
    directory.createFic(APP, valid());

    // Act
    const result = directory.createFic(APP, valid({ name: 'GITHUB-MAIN', subject: 'other' }));

    // Assess
    expect(result).toEqual({
      ok: false,
      error: {
        code: 'name_conflict',
        message: 'a federated identity credential named GITHUB-MAIN already exists',
        value: 'GITHUB-MAIN',
      },
    });
  });

  it('refuses a second FIC with the same issuer and subject, but compares them case-sensitively', () => {
    // Prepare
    const directory = Directory.fromSeed(seed());
    directory.createFic(APP, valid());

    // Act
    const duplicate = directory.createFic(APP, valid({ name: 'second' }));
    const otherCase = directory.createFic(
      APP,
      valid({ name: 'third', subject: 'REPO:contoso/app:ref:refs/heads/main' }),
    );
    const otherIssuer = directory.createFic(APP, valid({ name: 'fourth', issuer: 'https://gitlab.com' }));

    // Assess
    expect(duplicate.ok ? 'created' : duplicate.error.code).toBe('issuer_subject_conflict');
    expect(otherCase.ok).toBe(true);
    expect(otherIssuer.ok).toBe(true);
  });

  it('allows the same issuer and subject on a different owner', () => {
    // Prepare
    const directory = Directory.fromSeed(seed());
    directory.createFic(APP, valid());

    // Act
    const result = directory.createFic(MI, valid());

    // Assess
    expect(result.ok).toBe(true);
  });

  it.each([
    ['application', APP],
    ['managed identity', MI],
  ])('accepts 20 FICs on an %s and refuses the 21st', (_label, owner) => {
    // Prepare
    const directory = Directory.fromSeed(seed());
    for (let i = 0; i < 20; i += 1) {
      const created = directory.createFic(owner, valid({ name: `fic-${i}`, subject: `subject-${i}` }));
      expect(created.ok).toBe(true);
    }

    // Act
    const result = directory.createFic(owner, valid({ name: 'fic-20', subject: 'subject-20' }));

    // Assess
    expect(result.ok ? 'created' : result.error.code).toBe('limit_reached');
    expect(directory.listFics(owner).ok && directory.listFics(owner)).toMatchObject({
      value: { length: 20 },
    });
  });

  it('reports a missing owner', () => {
    // Prepare
    const directory = Directory.fromSeed(seed());

    // Act
    const app = directory.createFic({ kind: 'application', objectId: OTHER_APP_ID }, valid());
    const mi = directory.listFics({ ...MI, name: 'missing' } as FicOwnerRef);

    // Assess
    expect(app.ok ? 'created' : app.error.code).toBe('owner_not_found');
    expect(mi.ok ? 'listed' : mi.error.code).toBe('owner_not_found');
  });
});

describe('Directory FIC updates', () => {
  function withOne() {
    const directory = Directory.fromSeed(seed());
    const created = directory.createFic(APP, valid({ description: 'first' }));
    if (!created.ok) throw new Error(created.error.message);
    return { directory, fic: created.value };
  }

  it('gets a FIC by id and by name (any case)', () => {
    // Prepare
    const { directory, fic } = withOne();

    // Act / Assess
    expect(directory.getFic(APP, { id: fic.id.toUpperCase() })).toEqual({ ok: true, value: fic });
    expect(directory.getFic(APP, { name: 'GitHub-Main' })).toEqual({ ok: true, value: fic });
    expect(directory.getFic(APP, { name: 'missing' })).toMatchObject({
      ok: false,
      error: { code: 'fic_not_found' },
    });
  });

  it('applies a partial update: absent fields stay, null clears', () => {
    // Prepare
    const { directory, fic } = withOne();

    // Act
    const result = directory.updateFic(
      APP,
      { id: fic.id },
      { subject: 'repo:contoso/app:environment:prod', description: null },
    );

    // Assess
    expect(result).toEqual({
      ok: true,
      value: { ...fic, subject: 'repo:contoso/app:environment:prod', description: null },
    });
    expect(directory.getFic(APP, { id: fic.id })).toEqual(result);
  });

  it('accepts the same name in a patch but refuses a new one', () => {
    // Prepare
    const { directory, fic } = withOne();

    // Act
    const same = directory.updateFic(APP, { id: fic.id }, { name: 'github-main', description: 'x' });
    const renamed = directory.updateFic(APP, { id: fic.id }, { name: 'renamed' });

    // Assess
    expect(same.ok).toBe(true);
    expect(renamed.ok ? 'updated' : renamed.error.code).toBe('name_immutable');
    expect(directory.getFic(APP, { name: 'renamed' }).ok).toBe(false);
  });

  it('validates the merged result and leaves the FIC unchanged when it fails', () => {
    // Prepare
    const { directory, fic } = withOne();

    // Act
    const result = directory.updateFic(APP, { id: fic.id }, { audiences: ['a', 'b'] });

    // Assess
    expect(result.ok ? 'updated' : result.error.code).toBe('audiences_count');
    expect(directory.getFic(APP, { id: fic.id })).toEqual({ ok: true, value: fic });
  });

  it('refuses an update that collides with a sibling issuer and subject, not with itself', () => {
    // Prepare
    const { directory, fic } = withOne();
    directory.createFic(APP, valid({ name: 'second', subject: 'repo:other' }));

    // Act
    const itself = directory.updateFic(APP, { id: fic.id }, { subject: fic.subject });
    const collision = directory.updateFic(APP, { name: 'second' }, { subject: fic.subject });

    // Assess
    expect(itself.ok).toBe(true);
    expect(collision.ok ? 'updated' : collision.error.code).toBe('issuer_subject_conflict');
  });

  it('switches to an expression only when the subject is cleared in the same patch', () => {
    // Prepare
    const { directory, fic } = withOne();
    const claimsMatchingExpression = expression("claims['sub'] matches 'repo:contoso/*'");

    // Act
    const keptSubject = directory.updateFic(APP, { id: fic.id }, { claimsMatchingExpression });
    const cleared = directory.updateFic(APP, { id: fic.id }, { claimsMatchingExpression, subject: null });

    // Assess
    expect(keptSubject.ok ? 'updated' : keptSubject.error.code).toBe('subject_and_expression');
    expect(cleared.ok && cleared.value).toMatchObject({ subject: null, claimsMatchingExpression });
  });

  it('upserts by name: creates when absent, merges or replaces when present', () => {
    // Prepare
    const { directory, fic } = withOne();

    // Act
    const created = directory.upsertFicByName(
      APP,
      'new-one',
      valid({ name: undefined, subject: 'repo:new' }),
      'merge',
    );
    const merged = directory.upsertFicByName(APP, 'github-main', { subject: 'repo:merged' }, 'merge');
    const replaced = directory.upsertFicByName(
      APP,
      'GITHUB-MAIN',
      valid({ name: undefined, subject: 'repo:replaced' }),
      'replace',
    );

    // Assess
    expect(created.ok && created.value).toMatchObject({
      created: true,
      fic: { name: 'new-one', subject: 'repo:new' },
    });
    expect(merged.ok && merged.value).toMatchObject({
      created: false,
      fic: { id: fic.id, description: 'first' },
    });
    expect(replaced.ok && replaced.value).toMatchObject({
      created: false,
      fic: { id: fic.id, name: 'github-main', subject: 'repo:replaced', description: null },
    });
  });

  it('refuses an upsert whose body names a different FIC than the URL', () => {
    // Prepare
    const { directory } = withOne();

    // Act
    const result = directory.upsertFicByName(APP, 'github-main', valid({ name: 'another' }), 'replace');

    // Assess
    expect(result.ok ? 'written' : result.error.code).toBe('name_immutable');
  });

  it('deletes a FIC, then no longer finds it', () => {
    // Prepare
    const { directory, fic } = withOne();

    // Act
    const deleted = directory.deleteFic(APP, { id: fic.id });
    const again = directory.deleteFic(APP, { id: fic.id });

    // Assess
    expect(deleted).toEqual({ ok: true, value: fic });
    expect(again.ok ? 'deleted' : again.error.code).toBe('fic_not_found');
    expect(directory.listFics(APP)).toEqual({ ok: true, value: [] });
  });
});
