// GetWebIdentityToken on the STS stand-in: each enabled account's issuer over https in AWS's shapes, tokens
// that verify with jose against the JWKS fetched from it, exact claims, and STS's refusals.
import {
  GetWebIdentityTokenCommand,
  type GetWebIdentityTokenCommandInput,
  STSClient,
} from '@aws-sdk/client-sts';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsDirectory, type AwsPrincipalSeed } from '../../../sandbox/aws/model.js';
import { type StsStandIn, startStsStandIn } from '../../../sandbox/aws/sts.js';
import { parseWebIdentityTokenRequest } from '../../../sandbox/aws/webIdentityRequest.js';
import { createCertificateAuthority, trustCertificateAuthority } from '../../../sandbox/lib/tls.js';

const REGION = 'eu-west-1';
const NOW_MS = Math.floor(Date.now() / 1000) * 1000;
const NOW = NOW_MS / 1000;
const ACCOUNT = '111122223333';
const DISABLED_ACCOUNT = '444455556666';
const PLAIN_ACCOUNT = '777788889999';
const ISSUER_ID = 'a103a2cc-b461-473d-84fe-6c4f6d45af88';
const ISSUER = `https://${ISSUER_ID}.tokens.sts.global.api.aws`;
const OU_PATH = 'o-abc1234567/r-ab12/ou-ab12-11111111/';
const ROLE: AwsPrincipalSeed = {
  kind: 'role',
  account: ACCOUNT,
  name: 'deployer',
  path: '/service/',
  uniqueId: 'AROAEXAMPLEDEPLOYER01',
  sessionName: 'ci-run-42',
  accessKeyId: 'ASIAEXAMPLEDEPLOYER1',
  secretAccessKey: 'deployer-secret-key-00000000000000000000',
  sessionToken: 'deployer-session-token',
  sessionExpiresAt: NOW + 3600,
  tags: { team: 'payments', env: 'prod' },
};
const SHORT_SESSION: AwsPrincipalSeed = {
  ...ROLE,
  sessionName: 'short',
  accessKeyId: 'ASIAEXAMPLESHORT0001',
  sessionToken: 'short-session-token',
  sessionExpiresAt: NOW + 120,
};
const USER: AwsPrincipalSeed = {
  kind: 'user',
  account: PLAIN_ACCOUNT,
  name: 'builder',
  uniqueId: 'AIDAEXAMPLEBUILDER001',
  accessKeyId: 'AKIAEXAMPLEBUILDER01',
  secretAccessKey: 'builder-secret-key-000000000000000000000',
};
const DISABLED_ROLE: AwsPrincipalSeed = {
  ...ROLE,
  account: DISABLED_ACCOUNT,
  accessKeyId: 'ASIAEXAMPLEDISABLED1',
  sessionToken: 'disabled-session-token',
};

let sts: StsStandIn;

beforeAll(async () => {
  const ca = await createCertificateAuthority();
  trustCertificateAuthority(ca.certPem);
  sts = await startStsStandIn({
    tls: await ca.issue(['localhost', '127.0.0.1']),
    region: REGION,
    clock: { now: () => NOW_MS },
    directory: new AwsDirectory({
      partition: 'aws',
      region: REGION,
      accounts: [
        {
          id: ACCOUNT,
          outboundWebIdentityFederation: true,
          webIdentityIssuerId: ISSUER_ID,
          organization: { id: 'o-abc1234567', ouPath: OU_PATH },
        },
        { id: DISABLED_ACCOUNT },
        { id: PLAIN_ACCOUNT, outboundWebIdentityFederation: true },
      ],
      principals: [ROLE, SHORT_SESSION, USER, DISABLED_ROLE],
    }),
  });
});
afterAll(() => sts.close());

const issuerOf = (account: string) => {
  const endpoint = sts.webIdentityIssuers.get(account);
  if (!endpoint) throw new Error(`no issuer for ${account}`);
  return endpoint;
};
const getToken = (principal: AwsPrincipalSeed, input: Partial<GetWebIdentityTokenCommandInput>) =>
  new STSClient({ endpoint: sts.url, region: REGION, credentials: principal }).send(
    new GetWebIdentityTokenCommand({
      Audience: ['api://AzureADTokenExchange'],
      SigningAlgorithm: 'RS256',
      ...input,
    }),
  );
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail('expected a refusal'),
    (e) => e,
  );
const validation = (message: string) => ({
  name: 'ValidationError',
  message: `1 validation error detected: ${message}`,
  $metadata: { httpStatusCode: 400 },
});

describe('STS stand-in: per-account web identity issuers', () => {
  it('serves an issuer for each enabled account only, under its path, keeping the real issuer URL', () => {
    const base = `${sts.url}/web-identity/${ISSUER_ID}`;

    expect([...sts.webIdentityIssuers.keys()].sort()).toEqual([ACCOUNT, PLAIN_ACCOUNT]);
    expect(issuerOf(ACCOUNT)).toMatchObject({
      accountId: ACCOUNT,
      issuer: ISSUER,
      baseUrl: base,
      discoveryUrl: `${base}/.well-known/openid-configuration`,
      jwksUrl: `${base}/.well-known/jwks.json`,
    });
    expect(issuerOf(PLAIN_ACCOUNT).issuer).toMatch(
      /^https:\/\/[0-9a-f-]{36}\.tokens\.sts\.global\.api\.aws$/,
    );
  });

  it('serves AWS’s discovery document over https, issuer untouched and jwks_uri local', async () => {
    const endpoint = issuerOf(ACCOUNT);
    // How the Entra stand-in resolves it: `{override base}/.well-known/openid-configuration`.
    const response = await fetch(`${endpoint.baseUrl}/.well-known/openid-configuration`);

    expect(await response.json()).toEqual({
      issuer: ISSUER,
      jwks_uri: endpoint.jwksUrl,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'jti', 'https://sts.amazonaws.com/'],
      id_token_signing_alg_values_supported: ['RS256', 'ES384'],
      subject_types_supported: ['public'],
    });
  });

  it('publishes exactly AWS’s two keys: RSA_0 without alg and EC384_0 (P-384, ES384)', async () => {
    const { keys } = (await (await fetch(issuerOf(ACCOUNT).jwksUrl)).json()) as {
      keys: Record<string, unknown>[];
    };

    expect(keys.map((key) => Object.keys(key).sort())).toEqual([
      ['e', 'kid', 'kty', 'n', 'use'],
      ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
    ]);
    expect(keys).toMatchObject([
      { kty: 'RSA', kid: 'RSA_0', use: 'sig', e: 'AQAB' },
      { kty: 'EC', kid: 'EC384_0', use: 'sig', alg: 'ES384', crv: 'P-384' },
    ]);
  });
});

describe('STS stand-in: GetWebIdentityToken', () => {
  it('mints an RS256 token for a role session: sub is the role ARN, AWS claims nested, verifiable', async () => {
    const endpoint = issuerOf(ACCOUNT);

    const answer = await getToken(ROLE, {});
    const token = answer.WebIdentityToken ?? '';
    const { payload, protectedHeader } = await jwtVerify(
      token,
      createRemoteJWKSet(new URL(endpoint.jwksUrl)),
      {
        issuer: ISSUER,
        audience: 'api://AzureADTokenExchange',
        algorithms: ['RS256'],
        currentDate: new Date(NOW_MS),
      },
    );

    expect(protectedHeader).toEqual({ alg: 'RS256', kid: 'RSA_0', typ: 'JWT' });
    expect(payload).toEqual({
      iss: ISSUER,
      aud: 'api://AzureADTokenExchange',
      sub: 'arn:aws:iam::111122223333:role/service/deployer',
      iat: NOW,
      exp: NOW + 300,
      jti: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      'https://sts.amazonaws.com/': {
        aws_account: ACCOUNT,
        source_region: REGION,
        principal_id: 'arn:aws:iam::111122223333:role/service/deployer',
        org_id: 'o-abc1234567',
        ou_path: OU_PATH,
        principal_tags: { team: 'payments', env: 'prod' },
      },
    });
    expect(answer.Expiration).toEqual(new Date((NOW + 300) * 1000));
  });

  it('mints an ES384 token for a user: several audiences as an array, request tags, no org claims', async () => {
    const endpoint = issuerOf(PLAIN_ACCOUNT);

    const answer = await getToken(USER, {
      Audience: ['https://broker.example', 'api://AzureADTokenExchange'],
      SigningAlgorithm: 'ES384',
      DurationSeconds: 3600,
      Tags: [
        { Key: 'job', Value: 'nightly' },
        { Key: 'run', Value: '7' },
      ],
    });
    const token = answer.WebIdentityToken ?? '';
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(endpoint.jwksUrl)), {
      issuer: endpoint.issuer,
      audience: 'https://broker.example',
      algorithms: ['ES384'],
      currentDate: new Date(NOW_MS),
    });

    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES384', kid: 'EC384_0', typ: 'JWT' });
    expect(payload).toMatchObject({
      aud: ['https://broker.example', 'api://AzureADTokenExchange'],
      sub: 'arn:aws:iam::777788889999:user/builder',
      exp: NOW + 3600,
    });
    expect(payload['https://sts.amazonaws.com/']).toEqual({
      aws_account: PLAIN_ACCOUNT,
      source_region: REGION,
      principal_id: 'arn:aws:iam::777788889999:user/builder',
      request_tags: { job: 'nightly', run: '7' },
    });
  });

  it('accepts durations of 60 and 3600 seconds and refuses 59 and 3601', async () => {
    const shortest = await getToken(USER, { DurationSeconds: 60 });
    const longest = await getToken(USER, { DurationSeconds: 3600 });
    const under = await failure(getToken(USER, { DurationSeconds: 59 }));
    const over = await failure(getToken(USER, { DurationSeconds: 3601 }));

    expect([shortest.Expiration, longest.Expiration]).toEqual([
      new Date((NOW + 60) * 1000),
      new Date((NOW + 3600) * 1000),
    ]);
    expect(under).toMatchObject(
      validation(
        "Value '59' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60",
      ),
    );
    expect(over).toMatchObject(
      validation(
        "Value '3601' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 3600",
      ),
    );
  });

  it('accepts 1 to 10 audiences of up to 1000 characters and refuses 0, 11 or a longer one', async () => {
    const ten = Array.from({ length: 10 }, (_, i) => `aud-${i}`);
    const accepted = await getToken(USER, { Audience: ten });
    const longest = await getToken(USER, { Audience: ['a'.repeat(1000)] });
    const none = await failure(getToken(USER, { Audience: [] }));
    const eleven = await failure(getToken(USER, { Audience: [...ten, 'aud-10'] }));
    const tooLong = await failure(getToken(USER, { Audience: ['a'.repeat(1001)] }));

    expect([accepted.WebIdentityToken, longest.WebIdentityToken]).toEqual([
      expect.any(String),
      expect.any(String),
    ]);
    expect(none).toMatchObject(
      validation(
        "Value '[]' at 'audience' failed to satisfy constraint: Member must have length greater than or equal to 1",
      ),
    );
    expect(eleven).toMatchObject(
      validation(
        `Value '[${[...ten, 'aud-10'].join(', ')}]' at 'audience' failed to satisfy constraint: Member must have length less than or equal to 10`,
      ),
    );
    expect(tooLong).toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining(
        "at 'audience.1.member' failed to satisfy constraint: Member must have length less than or equal to 1000",
      ),
    });
  });

  it('refuses a missing or unknown signing algorithm and more than 50 tags', async () => {
    const missing = await failure(getToken(USER, { SigningAlgorithm: undefined }));
    const unknown = await failure(getToken(USER, { SigningAlgorithm: 'HS256' }));
    const tags = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const tooMany = await failure(getToken(USER, { Tags: tags }));
    const fifty = await getToken(USER, { Tags: tags.slice(0, 50) });

    expect(missing).toMatchObject(
      validation("Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null"),
    );
    expect(unknown).toMatchObject(
      validation(
        "Value 'HS256' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RS256, ES384]",
      ),
    );
    expect(tooMany).toMatchObject({
      name: 'ValidationError',
      message: expect.stringMatching(
        /at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50$/,
      ),
    });
    expect(fifty.WebIdentityToken).toEqual(expect.any(String));
  });

  it('refuses an account without outbound federation with 403', async () => {
    const error = await failure(getToken(DISABLED_ROLE, {}));

    expect(error).toMatchObject({
      name: 'OutboundWebIdentityFederationDisabledException',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('refuses a token that would outlive the caller’s session with 403, and allows one that ends with it', async () => {
    const escalated = await failure(getToken(SHORT_SESSION, {}));
    const justOver = await failure(getToken(SHORT_SESSION, { DurationSeconds: 121 }));
    const fits = await getToken(SHORT_SESSION, { DurationSeconds: 120 });

    expect(escalated).toMatchObject({
      name: 'SessionDurationEscalationException',
      $metadata: { httpStatusCode: 403 },
    });
    expect(justOver).toMatchObject({ name: 'SessionDurationEscalationException' });
    expect(fits.Expiration).toEqual(new Date((NOW + 120) * 1000));
  });

  it('authenticates the caller first: a wrong secret gets SignatureDoesNotMatch, not a token', async () => {
    const error = await failure(getToken({ ...ROLE, secretAccessKey: 'wrong' }, {}));

    expect(error).toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
  });
});

describe('GetWebIdentityToken parameters as the query deserializer reads them', () => {
  const parse = (extra: Record<string, string>) =>
    parseWebIdentityTokenRequest(
      new Map(Object.entries({ 'Audience.member.1': 'aud', SigningAlgorithm: 'RS256', ...extra })),
    );

  it('reads signed and zero-padded integers, and refuses other DurationSeconds as MalformedInput', () => {
    expect(parse({ DurationSeconds: '+0120' })).toMatchObject({ durationSeconds: 120 });
    expect(parse({})).toEqual({ audiences: ['aud'], algorithm: 'RS256', durationSeconds: 300, tags: [] });
    expect(parse({ DurationSeconds: '300.0' })).toEqual({ status: 400, code: 'MalformedInput' });
    expect(parse({ DurationSeconds: '2147483648' })).toEqual({ status: 400, code: 'MalformedInput' });
    expect(parse({ DurationSeconds: '' })).toEqual({
      status: 400,
      code: 'MalformedInput',
      message: 'missing value for decimal type',
    });
  });

  it('lists every violation in one ValidationError, and refuses what the sandbox cannot honour', () => {
    const both = parseWebIdentityTokenRequest(new Map([['DurationSeconds', '10']]));

    expect(both).toMatchObject({
      code: 'ValidationError',
      message:
        "3 validation errors detected: Value null at 'audience' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null; " +
        "Value '10' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60",
    });
    expect(
      parse({ 'Tags.member.1.Key': 'Team', 'Tags.member.1.Value': 'a', 'Tags.member.2.Key': 'team' }),
    ).toMatchObject({
      code: 'ValidationError',
      message: expect.stringContaining("Value null at 'tags.2.member.value'"),
    });
    expect(
      parse({
        'Tags.member.1.Key': 'Team',
        'Tags.member.1.Value': 'a',
        'Tags.member.2.Key': 'team',
        'Tags.member.2.Value': 'b',
      }),
    ).toMatchObject({ status: 400, code: 'InvalidParameterValue' });
    expect(parse({ SubjectMode: 'OriginIdentity' })).toMatchObject({ status: 400, code: 'ValidationError' });
    expect(parse({ Scope: 'read' })).toMatchObject({ status: 400, code: 'ValidationError' });
  });
});
