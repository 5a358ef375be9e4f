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
import { API_V2, CALLER, startVerdictEntra, TENANT, type VerdictEntra } from '../entra/assertionVerdict.js';

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

let entra: VerdictEntra;
let cases = 0;

beforeAll(async () => {
  entra = await startVerdictEntra('cognito-caller');
});
afterAll(() => entra?.close());

/**
 * Starts a Cognito stand-in with `header`, gets a developer identity's token from it with the real SDK,
 * makes the caller app trust exactly that identity, and presents the token at Entra's v2 token endpoint.
 */
async function presentCognitoToken(header: CognitoTokenHeader) {
  const cognito = await startCognitoStandIn({
    tls: entra.tls,
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
    cases += 1;
    const { status, body } = await entra.present(
      {
        name: `cognito-${cases}`,
        issuer: COGNITO,
        subject: IdentityId ?? '',
        audience: POOL,
        discoveryUrl: cognito.url,
      },
      Token ?? '',
    );
    return {
      status,
      body,
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
      aud: API_V2.appId,
      azp: CALLER.appId,
      tid: TENANT.id,
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
