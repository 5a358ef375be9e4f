// The Cognito identity-pool stand-in through the real @aws-sdk/client-cognito-identity over https: guests,
// developer identities signed with sandbox IAM keys (SigV4 really verified), public logins, the tokens and
// their keys, Cognito's JSON errors, and the test-only fault and counter routes.
import {
  CognitoIdentityClient,
  type CognitoIdentityClientConfig,
  GetIdCommand,
  GetOpenIdTokenCommand,
  GetOpenIdTokenForDeveloperIdentityCommand,
} from '@aws-sdk/client-cognito-identity';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CognitoStandIn,
  type CognitoStandInOptions,
  startCognitoStandIn,
} from '../../../sandbox/aws/cognito.js';
import type { CognitoPoolSeed } from '../../../sandbox/aws/cognitoPools.js';
import { AwsDirectory, type AwsPrincipalSeed } from '../../../sandbox/aws/model.js';
import { createCertificateAuthority, trustCertificateAuthority } from '../../../sandbox/lib/tls.js';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';
const DEVELOPER_PROVIDER = 'login.broker.dev';

/** A pool that admits guests and has a developer provider and Google as a public provider. */
const OPEN_POOL = 'eu-west-1:11111111-1111-4111-8111-111111111111';
/** A pool that refuses guests (developer identities only). */
const CLOSED_POOL = 'eu-west-1:22222222-2222-4222-8222-222222222222';
const GOOGLE_APP_ID = '1234567890-sandbox.apps.googleusercontent.com';
/** The only Google token the test verifier accepts, for user `google-user-1`. */
const GOOD_GOOGLE_TOKEN = 'google-id-token-for-user-1';

const BACKEND: AwsPrincipalSeed = {
  kind: 'user',
  account: ACCOUNT,
  name: 'broker-backend',
  uniqueId: 'AIDAEXAMPLEBACKEND001',
  accessKeyId: 'AKIAEXAMPLEBACKEND01',
  secretAccessKey: 'backend-secret-key-00000000000000000000',
};
const EXPIRED_SESSION: AwsPrincipalSeed = {
  kind: 'role',
  account: ACCOUNT,
  name: 'broker-role',
  uniqueId: 'AROAEXAMPLEBROKER001',
  sessionName: 'old',
  accessKeyId: 'ASIAEXAMPLEEXPIRED01',
  secretAccessKey: 'expired-secret-key-00000000000000000000',
  sessionToken: 'expired-session-token',
  sessionExpiresAt: 1_000_000_000,
};
const FOREIGN: AwsPrincipalSeed = {
  kind: 'user',
  account: OTHER_ACCOUNT,
  name: 'someone-else',
  uniqueId: 'AIDAEXAMPLEFOREIGN01',
  accessKeyId: 'AKIAEXAMPLEFOREIGN01',
  secretAccessKey: 'foreign-secret-key-00000000000000000000',
};

const directory = new AwsDirectory({
  partition: 'aws',
  region: REGION,
  accounts: [{ id: ACCOUNT }, { id: OTHER_ACCOUNT }],
  principals: [BACKEND, EXPIRED_SESSION, FOREIGN],
});

const POOLS: CognitoPoolSeed[] = [
  {
    id: OPEN_POOL,
    account: ACCOUNT,
    allowUnauthenticatedIdentities: true,
    developerProviderName: DEVELOPER_PROVIDER,
    loginProviders: {
      'accounts.google.com': {
        appId: GOOGLE_APP_ID,
        verify: async (token) => (token === GOOD_GOOGLE_TOKEN ? 'google-user-1' : undefined),
      },
    },
  },
  { id: CLOSED_POOL, account: ACCOUNT, developerProviderName: DEVELOPER_PROVIDER },
];

/** A clock the tests move by hand, epoch milliseconds. */
interface TestClock {
  now(): number;
  advance(seconds: number): void;
}

/** Starts a stand-in with the shared directory and pools (options merged over them). */
async function startCognito(
  options: Partial<Omit<CognitoStandInOptions, 'tls'>> = {},
): Promise<{ cognito: CognitoStandIn; clock: TestClock; tls: CognitoStandInOptions['tls'] }> {
  const ca = await createCertificateAuthority();
  trustCertificateAuthority(ca.certPem);
  const tls = await ca.issue(['localhost', '127.0.0.1']);
  // Whole seconds, so `iat` is exactly the clock and the Date header loses nothing.
  let current = Math.floor(Date.now() / 1000) * 1000;
  const clock: TestClock = { now: () => current, advance: (seconds) => (current += seconds * 1000) };
  const cognito = await startCognitoStandIn({
    tls,
    region: REGION,
    directory,
    pools: POOLS,
    clock,
    ...options,
  });
  return { cognito, clock, tls };
}

/** The real client, pointed at the stand-in; signed with `principal`'s keys when one is given. */
function client(
  cognito: CognitoStandIn,
  principal?: AwsPrincipalSeed | { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  config: Partial<CognitoIdentityClientConfig> = {},
): CognitoIdentityClient {
  const credentials = principal && {
    accessKeyId: principal.accessKeyId,
    secretAccessKey: principal.secretAccessKey,
    ...(principal.sessionToken ? { sessionToken: principal.sessionToken } : {}),
  };
  return new CognitoIdentityClient({
    endpoint: cognito.url,
    region: REGION,
    ...(credentials ? { credentials } : {}),
    ...config,
  });
}

/** What the SDK threw: the exception's name, message and HTTP status. */
async function refusal(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to be refused');
}

const COGNITO = 'https://cognito-identity.amazonaws.com';
const ARN_CLAIM = 'https://cognito-identity.amazonaws.com/identity-pool-arn';
const IDENTITY_ID = /^eu-west-1:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const arnOf = (pool: string) => `arn:aws:cognito-identity:${REGION}:${ACCOUNT}:identitypool/${pool}`;

/** Verifies a token against the stand-in's JWKS, fetched over https, at the stand-in's clock. */
async function verified(cognito: CognitoStandIn, clock: TestClock, token: string, audience: string) {
  return jwtVerify(token, createRemoteJWKSet(new URL(cognito.jwksUrl)), {
    issuer: COGNITO,
    audience,
    algorithms: ['RS512'],
    currentDate: new Date(clock.now()),
  });
}

const developerToken = (
  cognito: CognitoStandIn,
  principal: Parameters<typeof client>[1],
  input: Partial<ConstructorParameters<typeof GetOpenIdTokenForDeveloperIdentityCommand>[0]> = {},
  config: Partial<CognitoIdentityClientConfig> = {},
) =>
  client(cognito, principal, config).send(
    new GetOpenIdTokenForDeveloperIdentityCommand({
      IdentityPoolId: CLOSED_POOL,
      Logins: { [DEVELOPER_PROVIDER]: 'user-1' },
      ...input,
    }),
  );

describe('Cognito stand-in: guests, tokens and keys', () => {
  let cognito: CognitoStandIn;
  let clock: TestClock;
  beforeAll(async () => {
    ({ cognito, clock } = await startCognito());
  });
  afterAll(() => cognito.close());

  it('GetId then GetOpenIdToken: a 10-minute guest token with Cognito’s header and claims, verified over https', async () => {
    const guest = client(cognito);

    const { IdentityId } = await guest.send(new GetIdCommand({ IdentityPoolId: OPEN_POOL }));
    const answer = await guest.send(new GetOpenIdTokenCommand({ IdentityId }));

    expect(IdentityId).toMatch(IDENTITY_ID);
    expect(answer.IdentityId).toBe(IdentityId);
    const token = answer.Token ?? '';
    expect(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()).toBe(
      '{"kid":"eu-west-11","typ":"JWS","alg":"RS512"}',
    );
    const { payload } = await verified(cognito, clock, token, OPEN_POOL);
    const iat = clock.now() / 1000;
    expect(payload).toStrictEqual({
      sub: IdentityId,
      aud: OPEN_POOL,
      amr: ['unauthenticated'],
      iss: COGNITO,
      [ARN_CLAIM]: arnOf(OPEN_POOL),
      exp: iat + 600,
      iat,
    });
    expect(Object.keys(payload)).toEqual(['sub', 'aud', 'amr', 'iss', ARN_CLAIM, 'exp', 'iat']);
  });

  it('gives every GetId without logins a new guest identity', async () => {
    const guest = client(cognito);

    const first = await guest.send(new GetIdCommand({ IdentityPoolId: OPEN_POOL }));
    const second = await guest.send(new GetIdCommand({ IdentityPoolId: OPEN_POOL }));

    expect(first.IdentityId).not.toBe(second.IdentityId);
    expect(cognito.pools.identity(first.IdentityId ?? '').logins.size).toBe(0);
  });

  it('serves discovery with the real issuer and the local jwks_uri, and the JWKS with a 30-day max-age', async () => {
    const discovery = (await (await fetch(cognito.discoveryUrl)).json()) as Record<string, unknown>;
    const jwksResponse = await fetch(cognito.jwksUrl);
    const jwks = (await jwksResponse.json()) as { keys: Record<string, unknown>[] };

    expect(discovery).toMatchObject({
      issuer: COGNITO,
      jwks_uri: `${cognito.url}/.well-known/jwks_uri`,
      id_token_signing_alg_values_supported: ['RS512'],
    });
    expect(discovery.authorization_endpoint).toBeUndefined();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({
      kid: 'eu-west-11',
      alg: 'RS512',
      use: 'sig',
      kty: 'RSA',
      e: 'AQAB',
    });
    expect(jwks.keys[0]?.d).toBeUndefined();
    expect(jwksResponse.headers.get('cache-control')).toBe('max-age=2592000');
  });

  it('refuses a guest where the pool does not admit them: NotAuthorizedException, 400, Cognito’s message', async () => {
    const refused = await refusal(client(cognito).send(new GetIdCommand({ IdentityPoolId: CLOSED_POOL })));

    expect(refused).toEqual({
      name: 'NotAuthorizedException',
      message: 'Unauthenticated access is not supported for this identity pool.',
      status: 400,
    });
  });

  it('refuses an unknown pool: ResourceNotFoundException naming it', async () => {
    const pool = 'eu-west-1:99999999-9999-4999-8999-999999999999';

    const refused = await refusal(client(cognito).send(new GetIdCommand({ IdentityPoolId: pool })));

    expect(refused).toEqual({
      name: 'ResourceNotFoundException',
      message: `IdentityPool '${pool}' not found.`,
      status: 400,
    });
  });

  it('refuses an unknown identity in GetOpenIdToken: ResourceNotFoundException', async () => {
    const id = 'eu-west-1:99999999-9999-4999-8999-999999999999';

    const refused = await refusal(client(cognito).send(new GetOpenIdTokenCommand({ IdentityId: id })));

    expect(refused).toEqual({
      name: 'ResourceNotFoundException',
      message: `Identity '${id}' not found.`,
      status: 400,
    });
  });

  it('refuses a malformed pool id with Coral’s ValidationException, body and headers as Cognito sends them', async () => {
    const refused = await refusal(
      client(cognito).send(new GetIdCommand({ IdentityPoolId: 'eu-west-1_AbCdEf' })),
    );
    const raw = await fetch(`${cognito.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSCognitoIdentityService.GetId',
      },
      body: JSON.stringify({ IdentityPoolId: 'x'.repeat(56) }),
    });

    expect(refused).toEqual({
      name: 'ValidationException',
      message:
        "1 validation error detected: Value 'eu-west-1_AbCdEf' at 'identityPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+",
      status: 400,
    });
    expect(raw.status).toBe(400);
    expect(raw.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(raw.headers.get('x-amzn-errortype')).toBe('ValidationException:');
    expect(raw.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await raw.json()).toEqual({
      __type: 'ValidationException',
      message: `2 validation errors detected: Value '${'x'.repeat(56)}' at 'identityPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+; Value '${'x'.repeat(56)}' at 'identityPoolId' failed to satisfy constraint: Member must have length less than or equal to 55`,
    });
  });

  it('answers a missing required member, a body that is not JSON, and an unknown target as Coral does', async () => {
    const post = (target: string, body: string) =>
      fetch(`${cognito.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
        body,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

    expect(await post('AWSCognitoIdentityService.GetOpenIdToken', '{}')).toEqual({
      status: 400,
      body: {
        __type: 'ValidationException',
        message:
          "1 validation error detected: Value null at 'identityId' failed to satisfy constraint: Member must not be null",
      },
    });
    expect((await post('AWSCognitoIdentityService.GetId', '{"IdentityPoolId":')).body.__type).toBe(
      'SerializationException',
    );
    expect((await post('AWSCognitoIdentityService.GetCredentialsForIdentity', '{}')).body).toEqual({
      __type: 'UnknownOperationException',
      message: 'Unknown operation AWSCognitoIdentityService.GetCredentialsForIdentity',
    });
  });

  it('sends the Date header from its own clock', async () => {
    const response = await fetch(cognito.jwksUrl);

    expect(response.headers.get('date')).toBe(new Date(clock.now()).toUTCString());
  });
});

describe('Cognito stand-in: developer identities (SigV4 verified against the sandbox IAM keys)', () => {
  let cognito: CognitoStandIn;
  let clock: TestClock;
  beforeAll(async () => {
    ({ cognito, clock } = await startCognito());
  });
  afterAll(() => cognito.close());

  it('maps one developer user to one identity, with a 15-minute token and the developer amr', async () => {
    const first = await developerToken(cognito, BACKEND, { Logins: { [DEVELOPER_PROVIDER]: 'user-1' } });
    const again = await developerToken(cognito, BACKEND, { Logins: { [DEVELOPER_PROVIDER]: 'user-1' } });
    const other = await developerToken(cognito, BACKEND, { Logins: { [DEVELOPER_PROVIDER]: 'user-2' } });

    expect(first.IdentityId).toMatch(IDENTITY_ID);
    expect(again.IdentityId).toBe(first.IdentityId);
    expect(other.IdentityId).not.toBe(first.IdentityId);
    const { payload } = await verified(cognito, clock, first.Token ?? '', CLOSED_POOL);
    const iat = clock.now() / 1000;
    expect(payload).toStrictEqual({
      sub: first.IdentityId,
      aud: CLOSED_POOL,
      amr: ['authenticated', DEVELOPER_PROVIDER, `${DEVELOPER_PROVIDER}:${CLOSED_POOL}:user-1`],
      iss: COGNITO,
      [ARN_CLAIM]: arnOf(CLOSED_POOL),
      exp: iat + 900,
      iat,
    });
  });

  it('answers a developer user pinned in the pool seed with the pinned IdentityId', async () => {
    const pinned = 'eu-west-1:7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d';
    const seeded = await startCognito({
      pools: [
        {
          id: CLOSED_POOL,
          account: ACCOUNT,
          developerProviderName: DEVELOPER_PROVIDER,
          identities: [{ id: pinned, developerUserId: 'broker' }],
        },
      ],
    });

    const answer = await developerToken(seeded.cognito, BACKEND, {
      Logins: { [DEVELOPER_PROVIDER]: 'broker' },
    });
    await seeded.cognito.close();

    expect(answer.IdentityId).toBe(pinned);
  });

  it('honours TokenDuration up to 24 hours and carries PrincipalTags in the tags claim', async () => {
    const answer = await developerToken(cognito, BACKEND, {
      TokenDuration: 86400,
      PrincipalTags: { team: 'payments', env: 'prod' },
    });

    const { payload } = await verified(cognito, clock, answer.Token ?? '', CLOSED_POOL);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(86400);
    expect(payload['https://aws.amazon.com/tags']).toEqual({
      principal_tags: { team: ['payments'], env: ['prod'] },
    });
  });

  it.each([
    [0, 'Member must have value greater than or equal to 1'],
    [86401, 'Member must have value less than or equal to 86400'],
  ])('refuses TokenDuration %i with a ValidationException', async (duration, constraint) => {
    const refused = await refusal(developerToken(cognito, BACKEND, { TokenDuration: duration }));

    expect(refused).toEqual({
      name: 'ValidationException',
      message: `1 validation error detected: Value '${duration}' at 'tokenDuration' failed to satisfy constraint: ${constraint}`,
      status: 400,
    });
  });

  it('refuses 51 principal tags with a ValidationException', async () => {
    const tags = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));

    const refused = await refusal(developerToken(cognito, BACKEND, { PrincipalTags: tags }));

    expect(refused.name).toBe('ValidationException');
    expect(refused.message).toMatch(
      /^1 validation error detected: Value '\{k0=v, .*\}' at 'principalTags' failed to satisfy constraint: Member must have length less than or equal to 50$/,
    );
  });

  it('refuses a wrong secret: InvalidSignatureException with AWS’s signature message', async () => {
    const refused = await refusal(
      developerToken(cognito, { accessKeyId: BACKEND.accessKeyId, secretAccessKey: 'not-the-secret' }),
    );

    expect(refused).toEqual({
      name: 'InvalidSignatureException',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      status: 400,
    });
  });

  it('refuses an access key nobody holds: UnrecognizedClientException', async () => {
    const refused = await refusal(
      developerToken(cognito, { accessKeyId: 'AKIAEXAMPLEUNKNOWN01', secretAccessKey: 'whatever' }),
    );

    expect(refused).toEqual({
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
      status: 400,
    });
  });

  it('refuses a role session past its expiry: ExpiredTokenException', async () => {
    const refused = await refusal(developerToken(cognito, EXPIRED_SESSION));

    expect(refused).toEqual({
      name: 'ExpiredTokenException',
      message: 'The security token included in the request is expired',
      status: 400,
    });
  });

  it('refuses a principal of another account: NotAuthorizedException', async () => {
    const refused = await refusal(developerToken(cognito, FOREIGN));

    expect(refused).toEqual({
      name: 'NotAuthorizedException',
      message: `Access to Identity Pool '${CLOSED_POOL}' is forbidden.`,
      status: 400,
    });
  });

  it('refuses Logins keyed by another provider, and extra logins beside the developer one', async () => {
    const otherProvider = await refusal(
      developerToken(cognito, BACKEND, { Logins: { 'login.other.dev': 'u' } }),
    );
    const twoLogins = await refusal(
      developerToken(cognito, BACKEND, { Logins: { [DEVELOPER_PROVIDER]: 'u', 'accounts.google.com': 't' } }),
    );

    expect(otherProvider).toEqual({
      name: 'NotAuthorizedException',
      message: 'This identity pool does not support the specified developer provider.',
      status: 400,
    });
    expect(twoLogins.name).toBe('InvalidParameterException');
  });

  it('refuses an unsigned request: MissingAuthenticationTokenException', async () => {
    const response = await fetch(`${cognito.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSCognitoIdentityService.GetOpenIdTokenForDeveloperIdentity',
      },
      body: JSON.stringify({ IdentityPoolId: CLOSED_POOL, Logins: { [DEVELOPER_PROVIDER]: 'user-1' } }),
    });

    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException:');
    expect(await response.json()).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Request is missing Authentication Token',
    });
  });

  it('refuses a signature made for another service (credential scope): InvalidSignatureException', async () => {
    const body = JSON.stringify({ IdentityPoolId: CLOSED_POOL, Logins: { [DEVELOPER_PROVIDER]: 'user-1' } });
    const url = new URL(cognito.url);
    const signed = await new SignatureV4({
      credentials: BACKEND,
      region: REGION,
      service: 'sts',
      sha256: Sha256,
    }).sign({
      method: 'POST',
      protocol: 'https:',
      hostname: url.host,
      path: '/',
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSCognitoIdentityService.GetOpenIdTokenForDeveloperIdentity',
      },
      body,
    });

    const response = await fetch(`${cognito.url}/`, { method: 'POST', headers: signed.headers, body });

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      __type: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'cognito-identity'.",
    });
  });

  it('refuses a signature over 5 minutes old; the SDK then corrects its clock from Date and succeeds', async () => {
    const skewed = { systemClockOffset: -10 * 60_000 };

    const refused = await refusal(developerToken(cognito, BACKEND, {}, { ...skewed, maxAttempts: 1 }));
    const retried = await developerToken(cognito, BACKEND, {}, skewed);

    expect(refused.name).toBe('InvalidSignatureException');
    expect(refused.message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
    );
    expect(retried.IdentityId).toMatch(IDENTITY_ID);
  });

  it('serves the enhanced flow: GetOpenIdToken with the Cognito token as login, unsigned, for 10 minutes', async () => {
    const developer = await developerToken(cognito, BACKEND, { Logins: { [DEVELOPER_PROVIDER]: 'user-9' } });
    const IdentityId = developer.IdentityId;

    const answer = await client(cognito).send(
      new GetOpenIdTokenCommand({
        IdentityId,
        Logins: { 'cognito-identity.amazonaws.com': developer.Token ?? '' },
      }),
    );
    const withoutLogins = await refusal(client(cognito).send(new GetOpenIdTokenCommand({ IdentityId })));
    const forged = await refusal(
      client(cognito).send(
        new GetOpenIdTokenCommand({ IdentityId, Logins: { 'cognito-identity.amazonaws.com': 'a.b.c' } }),
      ),
    );

    const { payload } = await verified(cognito, clock, answer.Token ?? '', CLOSED_POOL);
    expect(payload.amr).toEqual([
      'authenticated',
      DEVELOPER_PROVIDER,
      `${DEVELOPER_PROVIDER}:${CLOSED_POOL}:user-9`,
    ]);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
    expect(withoutLogins).toEqual({
      name: 'NotAuthorizedException',
      message:
        "Logins don't match. Please include at least one valid login for this identity or identity pool.",
      status: 400,
    });
    expect(forged.name).toBe('NotAuthorizedException');
  });

  it('refuses to move a developer user to another identity: DeveloperUserAlreadyRegisteredException', async () => {
    const registered = await developerToken(cognito, BACKEND, { Logins: { [DEVELOPER_PROVIDER]: 'user-7' } });
    const elsewhere = await developerToken(cognito, BACKEND, { Logins: { [DEVELOPER_PROVIDER]: 'user-8' } });

    const refused = await refusal(
      developerToken(cognito, BACKEND, {
        IdentityId: elsewhere.IdentityId,
        Logins: { [DEVELOPER_PROVIDER]: 'user-7' },
      }),
    );

    expect(registered.IdentityId).not.toBe(elsewhere.IdentityId);
    expect(refused.name).toBe('DeveloperUserAlreadyRegisteredException');
  });
});

describe('Cognito stand-in: public login providers', () => {
  let cognito: CognitoStandIn;
  let clock: TestClock;
  beforeAll(async () => {
    ({ cognito, clock } = await startCognito());
  });
  afterAll(() => cognito.close());

  it('links a verified provider login to one identity and names the provider’s app in amr', async () => {
    const logins = { 'accounts.google.com': GOOD_GOOGLE_TOKEN };

    const first = await client(cognito).send(new GetIdCommand({ IdentityPoolId: OPEN_POOL, Logins: logins }));
    const again = await client(cognito).send(new GetIdCommand({ IdentityPoolId: OPEN_POOL, Logins: logins }));
    const token = await client(cognito).send(
      new GetOpenIdTokenCommand({ IdentityId: first.IdentityId, Logins: logins }),
    );

    expect(again.IdentityId).toBe(first.IdentityId);
    const { payload } = await verified(cognito, clock, token.Token ?? '', OPEN_POOL);
    expect(payload.amr).toEqual([
      'authenticated',
      'accounts.google.com',
      `accounts.google.com:${GOOGLE_APP_ID}:google-user-1`,
    ]);
  });

  it.each([
    [{ 'graph.facebook.com': 'x' }, 'Token is not from a supported provider of this identity pool.'],
    [{ [DEVELOPER_PROVIDER]: 'user-1' }, 'Token is not from a supported provider of this identity pool.'],
    [{ 'accounts.google.com': 'forged' }, 'Invalid login token. The provider token was refused.'],
    [{ 'cognito-identity.amazonaws.com': 'a.b.c' }, "Invalid login token. Can't pass in a Cognito token."],
  ])('refuses GetId with logins %j: NotAuthorizedException', async (Logins, message) => {
    const refused = await refusal(
      client(cognito).send(new GetIdCommand({ IdentityPoolId: OPEN_POOL, Logins })),
    );

    expect(refused).toEqual({ name: 'NotAuthorizedException', message, status: 400 });
  });
});

describe('Cognito stand-in: faults and counters (sandbox-only /admin)', () => {
  let cognito: CognitoStandIn;
  const admin = (path: string, init?: RequestInit) => fetch(`${cognito.url}/admin${path}`, init);
  const inject = (fault: Record<string, unknown>) =>
    admin('/faults', { method: 'POST', body: JSON.stringify(fault) });
  beforeAll(async () => {
    ({ cognito } = await startCognito());
  });
  afterAll(() => cognito.close());
  beforeEach(async () => {
    await admin('/faults', { method: 'DELETE' });
    await admin('/counters/reset', { method: 'POST' });
  });

  it('throttles through the SDK as TooManyRequestsException with the injected status and message', async () => {
    const injected = await inject({
      op: 'GetId',
      status: 400,
      type: 'TooManyRequestsException',
      message: 'Rate exceeded',
    });

    const refused = await refusal(
      client(cognito, undefined, { maxAttempts: 1 }).send(new GetIdCommand({ IdentityPoolId: OPEN_POOL })),
    );
    const counters = (await (await admin('/counters')).json()) as Record<string, unknown>;

    expect(injected.status).toBe(201);
    expect(refused).toEqual({ name: 'TooManyRequestsException', message: 'Rate exceeded', status: 400 });
    expect(counters.GetId).toEqual({ requests: 1, errors: 1 });
    expect(counters.GetOpenIdToken).toEqual({ requests: 0, errors: 0 });
  });

  it('lets the SDK retry past a one-shot throttle (two requests counted) and sends Retry-After', async () => {
    await inject({
      status: 400,
      type: 'TooManyRequestsException',
      message: 'Rate exceeded',
      retryAfterSeconds: 2,
      times: 1,
    });
    const raw = await fetch(`${cognito.url}/`, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSCognitoIdentityService.GetId' },
      body: '{}',
    });
    await inject({ status: 400, type: 'TooManyRequestsException', message: 'Rate exceeded', times: 1 });

    const answer = await client(cognito).send(new GetIdCommand({ IdentityPoolId: OPEN_POOL }));
    const counters = (await (await admin('/counters')).json()) as Record<string, unknown>;

    expect(raw.headers.get('retry-after')).toBe('2');
    expect(answer.IdentityId).toMatch(IDENTITY_ID);
    expect(counters.GetId).toEqual({ requests: 3, errors: 2 });
  });

  it('answers an InternalErrorException 500 fault only for its operation, until the faults are deleted', async () => {
    await inject({ op: 'GetOpenIdToken', status: 500, type: 'InternalErrorException', message: 'boom' });
    const guest = client(cognito, undefined, { maxAttempts: 1 });

    const { IdentityId } = await guest.send(new GetIdCommand({ IdentityPoolId: OPEN_POOL }));
    const refused = await refusal(guest.send(new GetOpenIdTokenCommand({ IdentityId })));
    await admin('/faults', { method: 'DELETE' });
    const recovered = await guest.send(new GetOpenIdTokenCommand({ IdentityId }));

    expect(refused).toEqual({ name: 'InternalErrorException', message: 'boom', status: 500 });
    expect(recovered.Token).toBeTypeOf('string');
  });

  it('delays an answer by latencyMs without changing it', async () => {
    await inject({ op: 'GetId', latencyMs: 300 });

    const started = performance.now();
    const answer = await client(cognito).send(new GetIdCommand({ IdentityPoolId: OPEN_POOL }));

    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(answer.IdentityId).toMatch(IDENTITY_ID);
  });

  it.each([
    [{ status: 400 }, 'give status and type together'],
    [{ type: 'TooManyRequestsException', status: 99 }, 'status has an invalid value'],
    [{ op: 'GetCredentialsForIdentity', latencyMs: 1 }, 'op has an invalid value'],
    [{ message: 'x' }, 'message and retryAfterSeconds need status and type'],
    [{}, 'give type or latencyMs'],
    [{ colour: 'red' }, 'unknown field colour'],
  ])('refuses the fault %j: 400 %s', async (fault, error) => {
    const response = await inject(fault);

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error });
  });
});
