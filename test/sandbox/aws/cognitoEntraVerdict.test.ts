// What the Entra stand-in, under its default policy, decides about a Cognito OpenID token presented as a
// federated client assertion (issue 8, protocols.md §A.6 and §C.3): Cognito's observed header (`typ: JWS`,
// `alg: RS512`) against the header Entra documents (`typ: JWT`, RS256). Everything but the header is the
// same in every case (a FIC trusting Cognito's issuer, subject = the IdentityId, audience = the pool id),
// and the accepted case proves it, so each refusal is caused by the header alone.
import {
  CognitoIdentityClient,
  GetOpenIdTokenForDeveloperIdentityCommand,
} from '@aws-sdk/client-cognito-identity';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCognitoStandIn } from '../../../sandbox/aws/cognito.js';
import type { CognitoTokenHeader } from '../../../sandbox/aws/cognitoToken.js';
import { AwsDirectory, type AwsPrincipalSeed } from '../../../sandbox/aws/model.js';
import type { DirectorySeed } from '../../../sandbox/entra/model.js';
import { type RunningEntraStandIn, startEntraStandIn } from '../../../sandbox/entra/server.js';
import type { PemPair } from '../../../sandbox/lib/tls.js';
import { createCertificateAuthority, trustCertificateAuthority } from '../../../sandbox/lib/tls.js';

const COGNITO = 'https://cognito-identity.amazonaws.com';
const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const POOL = 'us-east-1:33333333-3333-4333-8333-333333333333';
const DEVELOPER_PROVIDER = 'login.broker.dev';
const BACKEND: AwsPrincipalSeed = {
  kind: 'user',
  account: ACCOUNT,
  name: 'broker-backend',
  uniqueId: 'AIDAEXAMPLEBACKEND001',
  accessKeyId: 'AKIAEXAMPLEBACKEND01',
  secretAccessKey: 'backend-secret-key-00000000000000000000',
};
const directory = new AwsDirectory({
  partition: 'aws',
  region: REGION,
  accounts: [{ id: ACCOUNT }],
  principals: [BACKEND],
});

const TENANT = '11111111-1111-4111-8111-111111111111';
const CALLER = {
  appId: 'a1a1a1a1-0000-4000-8000-000000000001',
  spId: 'a1a1a1a1-0000-4000-8000-0000000000f1',
};
const API = { appId: 'b2b2b2b2-0000-4000-8000-000000000002', uri: 'api://broker-api' };
const SEED: DirectorySeed = {
  tenants: [
    {
      id: TENANT,
      domains: ['contoso.onmicrosoft.com'],
      applications: [
        { appId: CALLER.appId, servicePrincipalId: CALLER.spId, displayName: 'cognito-caller' },
        {
          appId: API.appId,
          displayName: 'broker-api',
          identifierUris: [API.uri],
          requestedAccessTokenVersion: 2,
          appRoleAssignments: { [CALLER.appId]: ['Things.Read'] },
        },
      ],
    },
  ],
};

let tls: PemPair;
let entra: RunningEntraStandIn;
let cases = 0;

beforeAll(async () => {
  const ca = await createCertificateAuthority();
  trustCertificateAuthority(ca.certPem);
  tls = await ca.issue(['localhost', '127.0.0.1']);
  entra = await startEntraStandIn({ tls, seed: SEED });
});
afterAll(() => entra.close());

/**
 * Starts a Cognito stand-in with `header`, gets a developer identity's token from it with the real SDK,
 * makes the caller app trust exactly that identity, and presents the token at Entra's v2 token endpoint.
 */
async function presentCognitoToken(header: CognitoTokenHeader) {
  const cognito = await startCognitoStandIn({
    tls,
    region: REGION,
    directory,
    pools: [{ id: POOL, account: ACCOUNT, developerProviderName: DEVELOPER_PROVIDER }],
    ...(Object.keys(header).length > 0 ? { tokenHeader: header } : {}),
  });
  try {
    const { IdentityId, Token } = await new CognitoIdentityClient({
      endpoint: cognito.url,
      region: REGION,
      credentials: BACKEND,
    }).send(
      new GetOpenIdTokenForDeveloperIdentityCommand({
        IdentityPoolId: POOL,
        Logins: { [DEVELOPER_PROVIDER]: 'workload-1' },
      }),
    );
    const app = entra.directory.findApplicationByAppId(CALLER.appId);
    cases += 1;
    const created = entra.directory.createFic(
      { kind: 'application', objectId: app?.id ?? '' },
      { name: `cognito-${cases}`, issuer: COGNITO, subject: IdentityId ?? '', audiences: [POOL] },
    );
    expect(created.ok).toBe(true);
    // Each case has its own keys: Entra fetches this stand-in's discovery, never a cached JWKS.
    entra.admin.resolver.clear();
    entra.admin.resolver.setDiscoveryOverride(COGNITO, cognito.url);
    const response = await fetch(`${entra.url}/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: CALLER.appId,
        scope: `${API.uri}/.default`,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: Token ?? '',
      }),
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown> & { error_codes?: number[] },
      header: JSON.parse(Buffer.from((Token ?? '').split('.')[0] ?? '', 'base64url').toString()),
      discoveryFetches: cognito.signer.issuer.requestCounts.discovery,
    };
  } finally {
    await cognito.close();
  }
}

describe('Entra stand-in (default policy) judging a Cognito token as client_assertion', () => {
  it('REFUSES Cognito’s observed header (typ JWS, alg RS512, the stand-in’s default): 400 invalid_request AADSTS5002727', async () => {
    const res = await presentCognitoToken({});

    expect(res.header).toEqual({ kid: 'us-east-11', typ: 'JWS', alg: 'RS512' });
    expect({ status: res.status, error: res.body.error, codes: res.body.error_codes }).toEqual({
      status: 400,
      error: 'invalid_request',
      codes: [5002727],
    });
    expect(res.body.error_description).toMatch(
      /^AADSTS5002727: Invalid JWT header type specified, must be 'JWT' or 'http:\/\/openid\.net\/specs\/jwt\/1\.0'\./,
    );
    expect(res.discoveryFetches).toBe(0);
  });

  it('ACCEPTS typ JWT with alg RS256: 200 and an access token for the caller app', async () => {
    const res = await presentCognitoToken({ typ: 'JWT', alg: 'RS256' });

    expect(res.header).toEqual({ kid: 'us-east-11', typ: 'JWT', alg: 'RS256' });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    expect(decodeJwt(String(res.body.access_token))).toMatchObject({
      aud: API.appId,
      azp: CALLER.appId,
      tid: TENANT,
      roles: ['Things.Read'],
    });
    expect(res.discoveryFetches).toBe(1);
  });

  it('REFUSES typ JWT with alg RS512 (only the typ fixed): 400 invalid_request AADSTS5002730', async () => {
    const res = await presentCognitoToken({ typ: 'JWT' });

    expect(res.header).toEqual({ kid: 'us-east-11', typ: 'JWT', alg: 'RS512' });
    expect({ status: res.status, error: res.body.error, codes: res.body.error_codes }).toEqual({
      status: 400,
      error: 'invalid_request',
      codes: [5002730],
    });
  });

  it('REFUSES typ JWS with alg RS256 (only the alg fixed): 400 invalid_request AADSTS5002727', async () => {
    const res = await presentCognitoToken({ alg: 'RS256' });

    expect(res.header).toEqual({ kid: 'us-east-11', typ: 'JWS', alg: 'RS256' });
    expect({ status: res.status, error: res.body.error, codes: res.body.error_codes }).toEqual({
      status: 400,
      error: 'invalid_request',
      codes: [5002727],
    });
  });
});
