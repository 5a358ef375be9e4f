// The aws-web-identity and cognito caller verifiers (issue 8): the JWT pattern with each issuer's
// algorithms, typ and claims, and the principal each yields.
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAwsWebIdentityVerifier } from '../../../shared/callers/awsWebIdentity.js';
import { COGNITO_ISSUER, createCognitoVerifier } from '../../../shared/callers/cognitoCaller.js';
import { toWireError } from '../../../shared/errors.js';

const NOW = 1_800_000_000;
const AUDIENCE = 'https://broker.example.com';
const ACCOUNT = '111122223333';
const ISSUER = 'https://5e1f0c2a-7b3d-4c8e-9a10-0a1b2c3d4e5f.tokens.sts.global.api.aws';
const POOL = 'eu-west-1:0d3c2b1a-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const IDENTITY = 'eu-west-1:7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d';
const clock = { now: () => NOW * 1000 };

type Signer = (claims: Record<string, unknown>, header?: Record<string, unknown>) => Promise<string>;
let signers: Record<'RS256' | 'ES384' | 'RS512', Signer>;
let jwks: { keys: JWK[] };

beforeAll(async () => {
  const keys: JWK[] = [];
  const make = async (alg: 'RS256' | 'ES384' | 'RS512', typ: string): Promise<Signer> => {
    const pair = await generateKeyPair(alg, { extractable: true });
    keys.push({ ...(await exportJWK(pair.publicKey)), kid: alg, alg });
    return (claims, header = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg, kid: alg, typ, ...header }).sign(pair.privateKey);
  };
  signers = {
    RS256: await make('RS256', 'JWT'),
    ES384: await make('ES384', 'JWT'),
    RS512: await make('RS512', 'JWS'),
  };
  jwks = { keys };
});

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return toWireError(error).body;
};

describe('aws-web-identity verifier', () => {
  const verifier = () =>
    createAwsWebIdentityVerifier({
      audience: AUDIENCE,
      issuers: [{ account: ACCOUNT, issuer: ISSUER, keys: createLocalJWKSet(jwks) }],
      maxLifetimeSeconds: 3600,
      clockSkewSeconds: 60,
      maxTokenBytes: 8192,
      clock,
    });
  const claims = (aws: Record<string, unknown> = {}, more: Record<string, unknown> = {}) => ({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: `arn:aws:iam::${ACCOUNT}:role/service/payments-app`,
    iat: NOW,
    exp: NOW + 300,
    jti: 'j',
    'https://sts.amazonaws.com/': {
      aws_account: ACCOUNT,
      source_region: 'eu-west-1',
      org_id: 'o-abc123',
      ou_path: 'o-abc123/r-root/ou-prod/',
      principal_tags: { team: 'payments' },
      ...aws,
    },
    ...more,
  });

  it.each(['RS256', 'ES384'] as const)(
    'yields the role of a %s token with its organization and tags',
    async (alg) => {
      const { principal } = await verifier().verify(await signers[alg](claims()));

      expect(principal).toEqual({
        kind: 'aws-web-identity',
        subject: `arn:aws:iam::${ACCOUNT}:role/service/payments-app`,
        issuer: ISSUER,
        account: ACCOUNT,
        type: 'role',
        name: 'payments-app',
        orgId: 'o-abc123',
        ouPath: 'o-abc123/r-root/ou-prod/',
        principalTags: { team: 'payments' },
      });
    },
  );

  it.each([
    [
      'an account other than its issuer',
      () => claims({ aws_account: '999988887777' }),
      "The subject token's account is not the account of its issuer.",
    ],
    [
      'a sub in another account',
      () => claims({}, { sub: 'arn:aws:iam::999988887777:role/x' }),
      "The subject token's account is not the account of its issuer.",
    ],
    [
      'a session ARN as sub',
      () => claims({}, { sub: `arn:aws:sts::${ACCOUNT}:assumed-role/x/s` }),
      "The subject token's 'sub' is not an IAM role or user ARN.",
    ],
    [
      'another audience',
      () => claims({}, { aud: 'api://AzureADTokenExchange' }),
      `The subject token's audience is not this broker's audience (${AUDIENCE}).`,
    ],
    [
      'an issuer not on the allow-list',
      () => claims({}, { iss: 'https://other.tokens.sts.global.api.aws' }),
      'The subject token was not issued by an AWS account this broker trusts.',
    ],
    [
      'tags that are not strings',
      () => claims({ principal_tags: { n: 1 } }),
      "The subject token's principal tags are not a map of strings.",
    ],
  ])('refuses %s', async (_name, build, description) => {
    expect(await refusal(verifier().verify(await signers.RS256(build())))).toEqual({
      error: 'invalid_grant',
      error_description: description,
    });
  });

  it('refuses an algorithm GetWebIdentityToken does not use', async () => {
    expect(await refusal(verifier().verify(await signers.RS512(claims(), { typ: 'JWT' })))).toEqual({
      error: 'invalid_grant',
      error_description: 'The subject token uses an algorithm that is not allowed.',
    });
  });
});

describe('cognito verifier', () => {
  const verifier = () =>
    createCognitoVerifier({
      identityPools: [POOL],
      keys: createLocalJWKSet(jwks),
      maxLifetimeSeconds: 3600,
      clockSkewSeconds: 60,
      maxTokenBytes: 8192,
      clock,
    });
  const claims = (more: Record<string, unknown> = {}) => ({
    sub: IDENTITY,
    aud: POOL,
    amr: ['authenticated', 'broker.sandbox', `broker.sandbox:${POOL}:demo-caller`],
    iss: COGNITO_ISSUER,
    iat: NOW,
    exp: NOW + 900,
    ...more,
  });

  it("yields the identity of a token with Cognito's JWS/RS512 header", async () => {
    const { principal } = await verifier().verify(await signers.RS512(claims()));

    expect(principal).toEqual({ kind: 'cognito', subject: IDENTITY, identityPool: POOL });
  });

  it.each([
    [
      'a guest identity',
      () => claims({ amr: ['unauthenticated'] }),
      'The subject token belongs to an unauthenticated (guest) Cognito identity.',
    ],
    [
      'a pool it does not trust',
      () => claims({ aud: 'eu-west-1:00000000-0000-4000-8000-000000000000' }),
      "The subject token's audience is not an identity pool this broker trusts.",
    ],
    [
      'a sub that is no identity id',
      () => claims({ sub: 'admin' }),
      "The subject token's 'sub' is not a Cognito identity id.",
    ],
    [
      'a 24-hour token',
      () => claims({ exp: NOW + 86_400 }),
      "The subject token's lifetime is longer than 3600 seconds.",
    ],
  ])('refuses %s', async (_name, build, description) => {
    expect(await refusal(verifier().verify(await signers.RS512(build())))).toEqual({
      error: 'invalid_grant',
      error_description: description,
    });
  });

  it('refuses ES384, which Cognito does not sign with', async () => {
    expect(
      (await refusal(verifier().verify(await signers.ES384(claims(), { typ: 'JWS' })))).error_description,
    ).toBe('The subject token uses an algorithm that is not allowed.');
  });
});
