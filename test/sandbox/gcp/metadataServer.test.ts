// The metadata-server stand-in over app.request(): header rules, response headers, values, listings, options.
import type { Hono } from 'hono';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGcpMetadataServer } from '../../../sandbox/gcp/metadataServer.js';
import { GOOGLE_ISSUER } from '../../../sandbox/gcp/model.js';
import { createOidcIssuer, type OidcIssuer } from '../../../sandbox/lib/oidcIssuer.js';
import { AUDIENCE, VM_A, vmAOptions } from './fixtures.js';

const FLAVOR = { 'Metadata-Flavor': 'Google' };
const V1 = '/computeMetadata/v1';
const IDENTITY = `${V1}/instance/service-accounts/default/identity?audience=${AUDIENCE}`;

describe('GCP metadata server: header rules', () => {
  let issuer: OidcIssuer;
  let app: Hono;
  beforeAll(async () => {
    issuer = await createOidcIssuer({ issuer: GOOGLE_ISSUER });
    app = createGcpMetadataServer(vmAOptions(issuer));
  });

  it.each([`${V1}/instance`, `${V1}/instance/`, `${V1}/project/project-id`, IDENTITY, `${V1}/nowhere`])(
    'refuses %s without Metadata-Flavor with 403 and the emulator-observed text',
    async (path) => {
      const response = await app.request(path);

      expect(response.status).toBe(403);
      expect(await response.text()).toBe('Missing required header "Metadata-Flavor": "Google"\n');
      expect(response.headers.get('Metadata-Flavor')).toBe('Google');
      expect(response.headers.get('Server')).toBe('Metadata Server for VM');
    },
  );

  it('refuses an empty Metadata-Flavor with 403 and a wrong one with 404', async () => {
    const empty = await app.request(IDENTITY, { headers: { 'Metadata-Flavor': '' } });
    const wrong = await app.request(IDENTITY, { headers: { 'Metadata-Flavor': 'google' } });

    expect(empty.status).toBe(403);
    expect(wrong.status).toBe(404);
    expect(await wrong.text()).not.toMatch(/eyJ/);
  });

  it.each([['10.0.0.1'], [''], ['127.0.0.1, 10.0.0.2']])(
    'refuses any X-Forwarded-For (%j) with 403, even with the flavor header',
    async (forwarded) => {
      const response = await app.request(IDENTITY, { headers: { ...FLAVOR, 'X-Forwarded-For': forwarded } });

      expect(response.status).toBe(403);
      expect(await response.text()).toBe('Forbidden\n');
      expect(response.headers.get('Metadata-Flavor')).toBe('Google');
    },
  );

  it('answers the root listing without the flavor header, but not a forwarded request', async () => {
    const root = await app.request('/');
    const forwarded = await app.request('/', { headers: { 'X-Forwarded-For': '10.0.0.1' } });

    expect(root.status).toBe(200);
    expect(await root.text()).toBe('computeMetadata/\n');
    expect(forwarded.status).toBe(403);
  });

  it.each([
    [IDENTITY, 200],
    [`${V1}/project/project-id`, 200],
    [`${V1}/instance/service-accounts/nobody@x.iam.gserviceaccount.com/email`, 404],
    [`${V1}/instance/service-accounts/default/identity`, 400],
    [`${V1}/instance`, 301],
  ])('stamps Metadata-Flavor and Server on %s (status %i)', async (path, status) => {
    const response = await app.request(path, { headers: FLAVOR });

    expect(response.status).toBe(status);
    expect(response.headers.get('Metadata-Flavor')).toBe('Google');
    expect(response.headers.get('Server')).toBe('Metadata Server for VM');
  });
});

describe('GCP metadata server: values and listings', () => {
  let app: Hono;
  const get = (path: string) => app.request(path, { headers: FLAVOR });
  beforeAll(async () => {
    app = createGcpMetadataServer(vmAOptions(await createOidcIssuer({ issuer: GOOGLE_ISSUER })));
  });

  it.each([
    [`${V1}/project/project-id`, VM_A.projectId],
    [`${V1}/project/numeric-project-id`, String(VM_A.projectNumber)],
    [`${V1}/instance/id`, VM_A.instance.id],
    [`${V1}/instance/name`, VM_A.instance.name],
    [`${V1}/instance/zone`, `projects/${VM_A.projectNumber}/zones/${VM_A.instance.zone}`],
    [`${V1}/universe/universe-domain`, 'googleapis.com'],
    [`${V1}/instance/service-accounts/default/email`, VM_A.defaultAccount.email],
    [`${V1}/instance/service-accounts/${VM_A.extraAccount.email}/email`, VM_A.extraAccount.email],
    [`${V1}/instance/service-accounts/default/aliases`, 'default\n'],
    [`${V1}/instance/service-accounts/${VM_A.extraAccount.email}/aliases`, ''],
    [`${V1}/instance/service-accounts/default/scopes`, 'https://www.googleapis.com/auth/cloud-platform\n'],
  ])('answers %s as application/text', async (path, body) => {
    const response = await get(path);

    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('application/text');
    expect(await response.text()).toBe(body);
  });

  it.each([
    [`${V1}/`, 'instance/\nproject/\nuniverse/\n'],
    [`${V1}/instance/`, 'id\nname\nservice-accounts/\nzone\n'],
    [`${V1}/project/`, 'numeric-project-id\nproject-id\n'],
    [
      `${V1}/instance/service-accounts/`,
      `${VM_A.defaultAccount.email}/\n${VM_A.extraAccount.email}/\ndefault/\n`,
    ],
    [`${V1}/instance/service-accounts/default/`, 'aliases\nemail\nidentity\nscopes\ntoken\n'],
  ])('lists the directory %s', async (path, body) => {
    expect(await (await get(path)).text()).toBe(body);
  });

  it.each([
    [`${V1}/instance`, `${V1}/instance/`],
    [`${V1}/instance/service-accounts?recursive=true`, `${V1}/instance/service-accounts/?recursive=true`],
    [`${V1}/instance/service-accounts/default`, `${V1}/instance/service-accounts/default/`],
  ])('redirects the directory %s to its slashed form', async (path, location) => {
    const response = await get(path);

    expect(response.status).toBe(301);
    expect(response.headers.get('Location')).toBe(location);
  });

  it('answers recursive listings as JSON, the instance ID as a bare 64-bit number', async () => {
    const accounts = await get(`${V1}/instance/service-accounts/?recursive=true`);
    const account = await get(`${V1}/instance/service-accounts/default/?recursive=true`);
    const instance = await (await get(`${V1}/instance/?recursive=true`)).text();
    const expected = { aliases: ['default'], email: VM_A.defaultAccount.email, scopes: [expect.any(String)] };

    expect(accounts.headers.get('Content-Type')).toBe('application/json');
    expect(await accounts.json()).toEqual({
      [VM_A.defaultAccount.email]: expected,
      [VM_A.extraAccount.email]: {
        aliases: [],
        email: VM_A.extraAccount.email,
        scopes: [expect.any(String)],
      },
      default: expected,
    });
    expect(await account.json()).toEqual(expected);
    expect(instance).toContain(`"id":${VM_A.instance.id},`);
    expect(JSON.parse(instance)).toMatchObject({
      name: VM_A.instance.name,
      serviceAccounts: { default: expected },
    });
  });

  it.each([
    `${V1}/instance/service-accounts/nobody@broker-proj-a.iam.gserviceaccount.com/email`,
    `${V1}/instance/service-accounts/nobody@broker-proj-a.iam.gserviceaccount.com/identity?audience=x`,
    `${V1}/instance/service-accounts/nobody@broker-proj-a.iam.gserviceaccount.com/`,
    `${V1}/instance/service-accounts/default/password`,
    `${V1}/instance/id/`,
    `${V1}/instance/hostname`,
  ])('answers 404 with Google’s HTML page for %s', async (path) => {
    const response = await get(path);
    const body = await response.text();

    expect(response.status).toBe(404);
    expect(response.headers.get('Content-Type')).toBe('text/html; charset=UTF-8');
    expect(body).toContain('Error 404 (Not Found)');
    expect(body).toContain(`<code>${new URL(path, 'http://x').pathname}</code>`);
  });

  it('answers the access-token endpoint with an opaque bearer token, not a JWT', async () => {
    const response = await get(`${V1}/instance/service-accounts/default/token?scopes=a,b`);
    const body = (await response.json()) as Record<string, unknown>;

    expect(response.headers.get('Content-Type')).toBe('application/json');
    expect(body).toEqual({
      access_token: expect.stringMatching(/^ya29\.sandbox-/),
      expires_in: 3600,
      token_type: 'Bearer',
    });
    expect(String(body.access_token).split('.')).toHaveLength(2);
  });
});

describe('GCP metadata server: options', () => {
  let issuer: OidcIssuer;
  beforeAll(async () => {
    issuer = await createOidcIssuer({ issuer: GOOGLE_ISSUER });
  });

  it.each([
    [{ projectId: 'Bad_Project' }, 'projectId'],
    [{ projectNumber: 0 }, 'projectNumber'],
    [{ instance: { ...VM_A.instance, id: 'i-123' } }, 'instance.id'],
    [{ instance: { ...VM_A.instance, zone: 'us-central1' } }, 'instance.zone'],
    [{ instance: { ...VM_A.instance, creationTimestampSeconds: 1.5 } }, 'instance.creationTimestampSeconds'],
    [{ tokenLifetimeSeconds: 0 }, 'tokenLifetimeSeconds'],
    [
      {
        serviceAccounts: [
          { email: 'a@x', uniqueId: '1', default: true as const },
          { email: 'b@x', uniqueId: '2', default: true as const },
        ],
      },
      'serviceAccounts',
    ],
    [{ serviceAccounts: [{ email: 'a@x', uniqueId: 'abc' }] }, 'serviceAccounts[0].uniqueId'],
  ])('refuses %j naming option %s', (extra, option) => {
    expect(() => createGcpMetadataServer(vmAOptions(issuer, extra))).toThrow(`option ${option} `);
  });

  it('refuses an issuer other than https://accounts.google.com', async () => {
    const other = await createOidcIssuer({ issuer: 'https://token.actions.githubusercontent.com' });

    expect(() => createGcpMetadataServer(vmAOptions(other))).toThrow('option issuer must be the stand-in');
  });

  it('answers 404 for default when no account is flagged default, and lists no default/', async () => {
    const app = createGcpMetadataServer(vmAOptions(issuer, { serviceAccounts: [{ ...VM_A.extraAccount }] }));

    const identity = await app.request(IDENTITY, { headers: FLAVOR });
    const listing = await app.request(`${V1}/instance/service-accounts/`, { headers: FLAVOR });

    expect(identity.status).toBe(404);
    expect(await listing.text()).toBe(`${VM_A.extraAccount.email}/\n`);
  });
});
