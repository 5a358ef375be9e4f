// The spiffe, kubernetes, github and oidc caller verifiers (issue 9): each a profile of the JWT pattern
// with its issuer's rules, and the principal each yields.
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGitHubVerifier } from '../../../shared/callers/github.js';
import { createKubernetesVerifier } from '../../../shared/callers/kubernetes.js';
import { createOidcVerifier } from '../../../shared/callers/oidc.js';
import { createSpiffeVerifier } from '../../../shared/callers/spiffe.js';
import { parseSpiffeId } from '../../../shared/callers/spiffeId.js';
import { toWireError } from '../../../shared/errors.js';

const NOW = 1_800_000_000;
const AUDIENCE = 'https://broker.example.com';
const clock = { now: () => NOW * 1000 };
const common = { clock, clockSkewSeconds: 60, maxTokenBytes: 8192 };

type Signer = (claims: Record<string, unknown>, header?: Record<string, unknown>) => Promise<string>;
const signers: Partial<Record<'RS256' | 'ES256', Signer>> = {};
let keys: ReturnType<typeof createLocalJWKSet>;

beforeAll(async () => {
  const published: JWK[] = [];
  for (const alg of ['RS256', 'ES256'] as const) {
    const pair = await generateKeyPair(alg, { extractable: true });
    published.push({ ...(await exportJWK(pair.publicKey)), kid: alg, alg });
    signers[alg] = (claims, header = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg, kid: alg, typ: 'JWT', ...header }).sign(pair.privateKey);
  }
  keys = createLocalJWKSet({ keys: published });
});

const sign = (alg: 'RS256' | 'ES256', claims: Record<string, unknown>, header?: Record<string, unknown>) =>
  (signers[alg] as Signer)(claims, header);
const refusal = async (promise: Promise<unknown>) =>
  toWireError(
    await promise.then(
      () => undefined,
      (e: unknown) => e,
    ),
  ).body.error_description;

describe('SPIFFE IDs', () => {
  it.each([
    ['spiffe://example.org/ns/prod/sa/api', { trustDomain: 'example.org', path: '/ns/prod/sa/api' }],
    ['spiffe://example.org', { trustDomain: 'example.org', path: '' }],
    ['SPIFFE://example.org/a', undefined],
    ['spiffe://Example.org/a', undefined],
    ['spiffe://example.org:8443/a', undefined],
    ['spiffe://user@example.org/a', undefined],
    ['spiffe://example.org/a//b', undefined],
    ['spiffe://example.org/a/./b', undefined],
    ['spiffe://example.org/a/../b', undefined],
    ['spiffe://example.org/a/', undefined],
    ['spiffe://example.org/a?b=c', undefined],
    ['spiffe://example.org/a#b', undefined],
    ['spiffe://example.org/a%20b', undefined],
    ['spiffe:///a', undefined],
    [`spiffe://example.org/${'a'.repeat(2048)}`, undefined],
  ])('%s parses to %j', (id, expected) => {
    expect(parseSpiffeId(id)).toEqual(expected);
  });

  it('gives each ID its own answer however often it is asked, past the memo of recent IDs, and answers no caller can change', () => {
    // More distinct IDs than the memo keeps, valid and invalid interleaved, each asked three times.
    const ids = Array.from({ length: 600 }, (_, i) =>
      i % 3 === 2 ? `spiffe://td${i}.example/a//b` : `spiffe://td${i}.example/ns/n${i}`,
    );
    for (let round = 0; round < 3; round++)
      for (const [i, id] of ids.entries())
        expect(parseSpiffeId(id)).toEqual(
          i % 3 === 2 ? undefined : { trustDomain: `td${i}.example`, path: `/ns/n${i}` },
        );
    const parsed = parseSpiffeId('spiffe://example.org/ns/prod/sa/api') as { trustDomain: string };
    expect(() => {
      parsed.trustDomain = 'attacker.example';
    }).toThrow(TypeError);
    expect(parseSpiffeId('spiffe://example.org/ns/prod/sa/api')?.trustDomain).toBe('example.org');
  });
});

describe('spiffe verifier', () => {
  const verifier = () =>
    createSpiffeVerifier({
      ...common,
      audience: AUDIENCE,
      maxLifetimeSeconds: 3600,
      trustDomains: [
        { trustDomain: 'workloads.example', keys },
        { trustDomain: 'issued.example', keys, issuer: 'https://oidc.issued.example' },
      ],
    });
  const svid = (more: Record<string, unknown> = {}) => ({
    sub: 'spiffe://workloads.example/ns/prod/sa/api',
    aud: [AUDIENCE],
    iat: NOW,
    exp: NOW + 300,
    ...more,
  });

  it('takes an issuerless ES256 SVID by its trust domain, and yields its SPIFFE ID', async () => {
    const { principal } = await verifier().verify(await sign('ES256', svid()));

    expect(principal).toEqual({
      kind: 'spiffe',
      subject: 'spiffe://workloads.example/ns/prod/sa/api',
      trustDomain: 'workloads.example',
      path: '/ns/prod/sa/api',
    });
    expect(verifier().issuerless?.(svid())).toBe(true);
    expect(verifier().issuerless?.(svid({ sub: 'spiffe://elsewhere.example/a' }))).toBe(false);
  });

  it("takes an SVID with its trust domain's configured issuer, and no typ", async () => {
    const token = await sign(
      'RS256',
      svid({ sub: 'spiffe://issued.example/a', iss: 'https://oidc.issued.example' }),
      { typ: undefined },
    );

    expect((await verifier().verify(token)).principal).toMatchObject({
      trustDomain: 'issued.example',
      path: '/a',
    });
  });

  it.each(['JWT', 'jwt', 'application/JOSE'])(
    'takes an SVID whose typ is %s, compared as jose compares it',
    async (typ) => {
      expect((await verifier().verify(await sign('ES256', svid(), { typ }))).principal).toMatchObject({
        trustDomain: 'workloads.example',
      });
    },
  );

  it.each([
    [
      'a header parameter the spec forbids',
      svid(),
      { jku: undefined, x5t: 'abc' },
      "The subject token's header carries a parameter its issuer's specification forbids.",
    ],
    [
      'a typ the spec does not name',
      svid(),
      { typ: 'at+jwt' },
      "The subject token's 'typ' claim is missing or invalid.",
    ],
    [
      'a trust domain not configured',
      svid({ sub: 'spiffe://elsewhere.example/a' }),
      {},
      'The subject token was not issued by a SPIFFE trust domain this broker trusts.',
    ],
    [
      'an issuer whose trust domain is another',
      svid({ iss: 'https://oidc.issued.example' }),
      {},
      'The subject token was not issued by a SPIFFE trust domain this broker trusts.',
    ],
    [
      'a trust-domain ID as subject',
      svid({ sub: 'spiffe://workloads.example' }),
      {},
      "The subject token's 'sub' is not a workload's SPIFFE ID.",
    ],
    [
      'another audience',
      svid({ aud: ['spiffe://workloads.example/other'] }),
      {},
      `The subject token's audience is not this broker's audience (${AUDIENCE}).`,
    ],
    ['no exp', svid({ exp: undefined }), {}, "The subject token's 'exp' claim is missing or invalid."],
  ])('refuses %s', async (_name, claims, header, description) => {
    expect(await refusal(verifier().verify(await sign('ES256', claims, header)))).toBe(description);
  });
});

describe('kubernetes verifier', () => {
  const ISSUER =
    'https://westeurope.oic.prod-aks.azure.com/11111111-2222-3333-4444-555555555555/66666666-7777-8888-9999-000000000000/';
  const verifier = () =>
    createKubernetesVerifier({
      ...common,
      audience: AUDIENCE,
      maxLifetimeSeconds: 86_400,
      clusters: [{ issuer: ISSUER, keys }],
    });
  const projected = (more: Record<string, unknown> = {}) => ({
    iss: ISSUER,
    aud: [AUDIENCE],
    sub: 'system:serviceaccount:payments:api',
    iat: NOW,
    nbf: NOW,
    exp: NOW + 3600,
    'kubernetes.io': {
      namespace: 'payments',
      serviceaccount: { name: 'api', uid: 'u-1' },
      pod: { name: 'api-7d9f', uid: 'p-1' },
    },
    ...more,
  });

  it("yields the namespace, service account and pod of a projected token without typ, the issuer's slash kept", async () => {
    const { principal } = await verifier().verify(await sign('RS256', projected(), { typ: undefined }));

    expect(principal).toEqual({
      kind: 'kubernetes',
      subject: 'system:serviceaccount:payments:api',
      issuer: ISSUER,
      namespace: 'payments',
      serviceAccount: 'api',
      serviceAccountUid: 'u-1',
      pod: 'api-7d9f',
    });
  });

  it.each([
    [
      'a sub that is not its service account',
      projected({ sub: 'system:serviceaccount:payments:admin' }),
      "The subject token's 'sub' is not its service account.",
    ],
    [
      'no kubernetes.io claims',
      projected({ 'kubernetes.io': undefined }),
      "The subject token's 'kubernetes.io' claims name no namespace and service account.",
    ],
    [
      'the issuer without its trailing slash',
      projected({ iss: ISSUER.slice(0, -1) }),
      'The subject token was not issued by a Kubernetes cluster this broker trusts.',
    ],
  ])('refuses %s', async (_name, claims, description) => {
    expect(await refusal(verifier().verify(await sign('RS256', claims)))).toBe(description);
  });
});

describe('github verifier', () => {
  const verifier = () =>
    createGitHubVerifier({
      ...common,
      audience: AUDIENCE,
      issuer: 'https://token.actions.githubusercontent.com',
      keys,
      maxLifetimeSeconds: 3600,
    });
  const job = (sub: string, more: Record<string, unknown> = {}) => ({
    iss: 'https://token.actions.githubusercontent.com',
    aud: AUDIENCE,
    sub,
    iat: NOW,
    exp: NOW + 300,
    repository: 'contoso/payments',
    repository_id: '123',
    repository_owner: 'contoso',
    repository_owner_id: '45',
    ref: 'refs/heads/main',
    event_name: 'push',
    environment: 'prod',
    workflow_ref: 'contoso/payments/.github/workflows/deploy.yml@refs/heads/main',
    job_workflow_ref: 'contoso/payments/.github/workflows/deploy.yml@refs/heads/main',
    ...more,
  });

  it('yields the same fields from the classic and the immutable subject formats', async () => {
    const classic = await verifier().verify(
      await sign('RS256', job('repo:contoso/payments:environment:prod')),
    );
    const immutable = await verifier().verify(
      await sign('RS256', job('repo:contoso@45/payments@123:environment:prod')),
    );

    expect(classic.principal).toEqual({
      kind: 'github',
      subject: 'repo:contoso/payments:environment:prod',
      owner: 'contoso',
      ownerId: '45',
      repository: 'contoso/payments',
      repositoryId: '123',
      ref: 'refs/heads/main',
      environment: 'prod',
      eventName: 'push',
      workflowRef: 'contoso/payments/.github/workflows/deploy.yml@refs/heads/main',
      jobWorkflowRef: 'contoso/payments/.github/workflows/deploy.yml@refs/heads/main',
    });
    expect({ ...immutable.principal, subject: undefined }).toEqual({
      ...classic.principal,
      subject: undefined,
    });
  });

  it.each([
    [
      'the default audience',
      job('repo:contoso/payments:ref:refs/heads/main', { aud: 'https://github.com/contoso' }),
      `The subject token's audience is not this broker's audience (${AUDIENCE}).`,
    ],
    [
      'no repository_id',
      job('repo:contoso/payments:ref:refs/heads/main', { repository_id: undefined }),
      "The subject token's 'repository_id' claim is missing or invalid.",
    ],
  ])('refuses %s', async (_name, claims, description) => {
    expect(await refusal(verifier().verify(await sign('RS256', claims)))).toBe(description);
  });
});

describe('oidc verifier', () => {
  const verifier = () =>
    createOidcVerifier(
      {
        issuer: 'https://gitlab.example.com',
        keys,
        algorithms: ['ES256'],
        audience: 'broker',
        claims: ['project_path', 'ref_protected'],
        maxLifetimeSeconds: 3600,
      },
      common,
    );
  const token = (more: Record<string, unknown> = {}) => ({
    iss: 'https://gitlab.example.com',
    aud: 'broker',
    sub: 'project_path:g/p:ref_type:branch:ref:main',
    iat: NOW,
    exp: NOW + 300,
    project_path: 'g/p',
    ref_protected: true,
    namespace_id: 7,
    ...more,
  });

  it('yields only the configured claims, as strings', async () => {
    const { principal } = await verifier().verify(await sign('ES256', token()));

    expect(principal).toEqual({
      kind: 'oidc',
      issuer: 'https://gitlab.example.com',
      subject: 'project_path:g/p:ref_type:branch:ref:main',
      claims: { project_path: 'g/p', ref_protected: 'true' },
    });
  });

  it("refuses an algorithm not configured for the issuer, and the broker's own audience", async () => {
    expect(await refusal(verifier().verify(await sign('RS256', token())))).toBe(
      'The subject token uses an algorithm that is not allowed.',
    );
    expect(await refusal(verifier().verify(await sign('ES256', token({ aud: AUDIENCE }))))).toBe(
      "The subject token's audience is not the audience configured for its issuer (broker).",
    );
  });
});
