// The identity endpoint over app.request(): audience rules, standard/full/licenses claims, lifetime, uniqueness.
import type { Hono } from 'hono';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGcpMetadataServer } from '../../../sandbox/gcp/metadataServer.js';
import { GOOGLE_ISSUER } from '../../../sandbox/gcp/model.js';
import { createOidcIssuer, type OidcIssuer } from '../../../sandbox/lib/oidcIssuer.js';
import {
  AUDIENCE,
  type FakeClock,
  fakeClock,
  readJwt,
  T0_MS,
  VM_A,
  VM_A_COMPUTE_ENGINE,
  vmAOptions,
} from './fixtures.js';

const FLAVOR = { 'Metadata-Flavor': 'Google' };
const ACCOUNTS = '/computeMetadata/v1/instance/service-accounts';
const T0_S = T0_MS / 1000;

describe('GCP metadata server: identity endpoint', () => {
  let issuer: OidcIssuer;
  let clock: FakeClock;
  let app: Hono;
  const identity = (query: string, account = 'default') =>
    app.request(`${ACCOUNTS}/${account}/identity?${query}`, { headers: FLAVOR });
  const tokenFor = async (query: string, account = 'default'): Promise<string> => {
    const response = await identity(query, account);
    expect(response.status).toBe(200);
    return response.text();
  };

  beforeAll(async () => {
    issuer = await createOidcIssuer({ issuer: GOOGLE_ISSUER });
    clock = fakeClock();
    app = createGcpMetadataServer(vmAOptions(issuer, { clock }));
  });

  it.each(['', 'audience=', 'format=full', 'format=full&audience='])(
    'answers 400 when the audience is missing or empty (%j)',
    async (query) => {
      const response = await identity(query);

      expect(response.status).toBe(400);
      expect(await response.text()).toBe('non-empty audience parameter required\n');
    },
  );

  it.each(['format=compact', 'format=FULL', 'licenses=yes'])('answers 400 for %s', async (query) => {
    const response = await identity(`audience=${AUDIENCE}&${query}`);

    expect(response.status).toBe(400);
  });

  it('answers the bare JWT as application/text, signed RS256 with the issuer’s active key', async () => {
    const response = await identity(`audience=${AUDIENCE}`);
    const token = await response.text();
    const { header } = readJwt(token);

    expect(response.headers.get('Content-Type')).toBe('application/text');
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(header).toMatchObject({ alg: 'RS256', kid: issuer.activeKid, typ: 'JWT' });
    const verified = await jwtVerify(token, createLocalJWKSet(issuer.jwks()), {
      issuer: GOOGLE_ISSUER,
      audience: AUDIENCE,
      currentDate: new Date(T0_MS),
    });
    expect(verified.payload.sub).toBe(VM_A.defaultAccount.uniqueId);
  });

  it('gives a standard token exactly Google’s claims, with no instance details', async () => {
    const { payload } = readJwt(await tokenFor(`audience=${AUDIENCE}&format=standard`));

    expect(payload).toEqual({
      aud: AUDIENCE,
      azp: VM_A.defaultAccount.uniqueId,
      email: VM_A.defaultAccount.email,
      email_verified: true,
      exp: T0_S + 3600,
      iat: T0_S,
      iss: 'https://accounts.google.com',
      sub: VM_A.defaultAccount.uniqueId,
    });
    expect(Object.keys(payload)).toEqual([
      'aud',
      'azp',
      'email',
      'email_verified',
      'exp',
      'iat',
      'iss',
      'sub',
    ]);
  });

  it('adds google.compute_engine with format=full, and license_id only with licenses=TRUE', async () => {
    const full = readJwt(await tokenFor(`format=full&audience=${AUDIENCE}`)).payload;
    const licensed = readJwt(await tokenFor(`format=full&licenses=TRUE&audience=${AUDIENCE}`)).payload;
    const standardLicensed = readJwt(await tokenFor(`licenses=TRUE&audience=${AUDIENCE}`)).payload;
    const computeEngine = VM_A_COMPUTE_ENGINE;

    expect(full.google).toEqual({ compute_engine: computeEngine });
    expect(licensed.google).toEqual({ compute_engine: { ...computeEngine, license_id: [] } });
    expect(standardLicensed.google).toBeUndefined();
    expect(full.sub).toBe(VM_A.defaultAccount.uniqueId);
  });

  it('lists the instance’s license IDs when it has some (licenses=true accepted in any case)', async () => {
    const licensedApp = createGcpMetadataServer(
      vmAOptions(issuer, { instance: { ...VM_A.instance, licenseIds: ['1000010', '1000020'] } }),
    );
    const response = await licensedApp.request(
      `${ACCOUNTS}/default/identity?audience=${AUDIENCE}&format=full&licenses=true`,
      { headers: FLAVOR },
    );

    const { payload } = readJwt(await response.text());
    expect(payload.google).toMatchObject({ compute_engine: { license_id: ['1000010', '1000020'] } });
  });

  it('signs for the account named by email: its own sub, azp and email', async () => {
    const { payload } = readJwt(await tokenFor(`audience=${AUDIENCE}`, VM_A.extraAccount.email));

    expect(payload).toMatchObject({
      sub: VM_A.extraAccount.uniqueId,
      azp: VM_A.extraAccount.uniqueId,
      email: VM_A.extraAccount.email,
    });
  });

  it('answers 404 for an account the VM does not have', async () => {
    const response = await identity(`audience=${AUDIENCE}`, 'stranger@other.iam.gserviceaccount.com');

    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain(AUDIENCE);
  });

  it('follows the injected clock and the configured lifetime', async () => {
    const shortApp = createGcpMetadataServer(vmAOptions(issuer, { clock, tokenLifetimeSeconds: 600 }));
    clock.set(T0_MS + 90_500);
    const response = await shortApp.request(`${ACCOUNTS}/default/identity?audience=${AUDIENCE}`, {
      headers: FLAVOR,
    });
    clock.set(T0_MS);

    const { payload } = readJwt(await response.text());
    expect(payload.iat).toBe(T0_S + 90);
    expect(payload.exp).toBe(T0_S + 90 + 600);
  });

  it('answers a different token to every request, even within one second, with the same claims', async () => {
    const tokens = await Promise.all([1, 2, 3].map(() => tokenFor(`format=full&audience=${AUDIENCE}`)));

    expect(new Set(tokens).size).toBe(3);
    expect(new Set(tokens.map((token) => JSON.stringify(readJwt(token).payload))).size).toBe(1);
  });

  it('takes the audience as sent, unencoded as google-auth-library sends it', async () => {
    const audience = 'api://AzureADTokenExchange';
    const { payload } = readJwt(await tokenFor(`format=full&audience=${audience}`));

    expect(payload.aud).toBe(audience);
  });
});
