// GitHub Actions OIDC stand-in: GitHub's discovery and JWKS over https, the runner's ID-token endpoint, the claims.
import { X509Certificate } from 'node:crypto';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GITHUB_ACTIONS_ISSUER,
  type GitHubActionsJob,
  type GitHubActionsOidc,
  startGitHubActionsOidc,
} from '../../../sandbox/github/actionsOidc.js';
import {
  createCertificateAuthority,
  type PemPair,
  trustCertificateAuthority,
} from '../../../sandbox/lib/tls.js';

const NOW_MS = 1_764_090_468_000;
const NOW = NOW_MS / 1000;
const FIC_AUDIENCE = 'api://AzureADTokenExchange';
const SHA = '15a5ebfa3fb5ddf10c4b4250e14496bec7f03a56';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const PUSH: GitHubActionsJob = {
  owner: 'octo-org',
  ownerId: 65,
  repository: 'octo-repo',
  repositoryId: 74,
  ref: 'refs/heads/main',
  sha: SHA,
  workflow: 'Deploy',
  workflowRef: 'octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main',
  jobWorkflowRef: 'octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main',
  eventName: 'push',
  actor: 'octocat',
  actorId: 12,
  runId: 19677834613,
  runNumber: 4,
  runAttempt: 1,
  visibility: 'private',
};
const PULL_REQUEST: GitHubActionsJob = {
  ...PUSH,
  ref: 'refs/pull/42/merge',
  eventName: 'pull_request',
  baseRef: 'main',
  headRef: 'feature/login',
  workflowRef: 'octo-org/octo-repo/.github/workflows/deploy.yml@refs/pull/42/merge',
  jobWorkflowRef: 'octo-org/octo-repo/.github/workflows/deploy.yml@refs/pull/42/merge',
};
const FORK = { owner: 'mallory', repository: 'octo-repo' };

describe('GitHub Actions OIDC stand-in', () => {
  let tls: PemPair;
  let github: GitHubActionsOidc;

  beforeAll(async () => {
    const ca = await createCertificateAuthority();
    trustCertificateAuthority(ca.certPem);
    tls = await ca.issue(['localhost', '127.0.0.1']);
    github = await startGitHubActionsOidc({
      tls,
      now: () => NOW_MS,
      sendWriteTokensToForkPullRequests: true,
      jobs: {
        push: PUSH,
        immutable: { ...PUSH, immutableSubject: true },
        production: { ...PUSH, environment: 'Production:V1' },
        tag: { ...PUSH, ref: 'refs/tags/v1.2.0' },
        pullRequest: PULL_REQUEST,
        immutablePullRequest: { ...PULL_REQUEST, immutableSubject: true },
        forkPrivate: { ...PULL_REQUEST, fork: FORK },
        forkPublic: { ...PULL_REQUEST, visibility: 'public', fork: FORK },
        noPermission: { ...PUSH, idTokenWrite: false },
      },
    });
  });
  afterAll(() => github.close());

  /** What @actions/core's OidcClient does: `${URL}&audience=<encoded>` with the job's bearer token. */
  const requestIdToken = (jobName: string, audience?: string, authorization?: string | null) => {
    const job = github.job(jobName);
    const url =
      audience === undefined
        ? `${job.requestUrl}`
        : `${job.requestUrl}&audience=${encodeURIComponent(audience)}`;
    const headers: Record<string, string> = {};
    if (authorization !== null) headers.Authorization = authorization ?? `Bearer ${job.requestToken}`;
    return fetch(url, { headers });
  };

  /** Verifies as a relying party does: GitHub's discovery document, then its `jwks_uri`. */
  const verify = async (token: string, audience: string) => {
    const document = (await (await fetch(github.discoveryUrl)).json()) as { jwks_uri: string };
    return jwtVerify(token, createRemoteJWKSet(new URL(document.jwks_uri)), {
      issuer: GITHUB_ACTIONS_ISSUER,
      audience,
      algorithms: ['RS256'],
      currentDate: new Date(NOW_MS),
    });
  };

  const idToken = async (jobName: string, audience = FIC_AUDIENCE): Promise<JWTPayload> => {
    const response = await requestIdToken(jobName, audience);
    const { value } = (await response.json()) as { value: string };
    return (await verify(value, audience)).payload;
  };

  it('serves GitHub’s discovery document with the real issuer and the local /.well-known/jwks', async () => {
    const document = await (await fetch(`${github.server.url}/.well-known/openid-configuration`)).json();

    expect(document).toEqual({
      issuer: 'https://token.actions.githubusercontent.com',
      jwks_uri: `${github.server.url}/.well-known/jwks`,
      subject_types_supported: ['public', 'pairwise'],
      response_types_supported: ['id_token'],
      claims_supported: expect.arrayContaining([
        'sub',
        'aud',
        'repository_id',
        'job_workflow_ref',
        'environment',
      ]),
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid'],
    });
  });

  it('publishes its key with x5c and an x5t that is the certificate’s SHA-1 thumbprint over that key', async () => {
    const { keys } = (await (await fetch(github.jwksUrl)).json()) as { keys: Record<string, unknown>[] };
    const [key] = keys;
    const [x5c] = (key?.x5c ?? []) as string[];
    const certificate = new X509Certificate(Buffer.from(x5c ?? '', 'base64'));
    const thumbprint = Buffer.from(certificate.fingerprint.replaceAll(':', ''), 'hex').toString('base64url');

    expect(keys).toHaveLength(1);
    expect(Object.keys(key ?? {}).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use', 'x5c', 'x5t']);
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.stringMatching(UUID) });
    expect(key?.x5t).toBe(thumbprint);
    expect(certificate.subject).toBe('CN=actions.self-signed.github');
    expect(certificate.publicKey.export({ format: 'jwk' }).n).toBe(key?.n);
  });

  it('hands each job its own request URL in GitHub’s shape, already carrying ?api-version=2.0', () => {
    const push = github.job('push');
    const tag = github.job('tag');

    expect(push.requestUrl).toMatch(
      /^https:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9]{50}\/00000000-0000-0000-0000-000000000000\/_apis\/distributedtask\/hubs\/Actions\/plans\/[0-9a-f-]{36}\/jobs\/[0-9a-f-]{36}\/idtoken\?api-version=2\.0$/,
    );
    expect(push.env).toEqual({
      ACTIONS_ID_TOKEN_REQUEST_URL: push.requestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: push.requestToken,
    });
    expect(tag.requestUrl).not.toBe(push.requestUrl);
    expect(tag.requestToken).not.toBe(push.requestToken);
  });

  it('answers {"value": jwt} for the asked audience, with GitHub’s header and exactly its claims', async () => {
    const response = await requestIdToken('push', FIC_AUDIENCE);
    const body = (await response.json()) as { value: string };
    const { payload, protectedHeader } = await verify(body.value, FIC_AUDIENCE);
    const { keys } = (await (await fetch(github.jwksUrl)).json()) as { keys: { kid: string; x5t: string }[] };

    expect(response.status).toBe(200);
    expect(Object.keys(body)).toEqual(['value']);
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: keys[0]?.kid, typ: 'JWT', x5t: keys[0]?.x5t });
    expect(payload).toEqual({
      actor: 'octocat',
      actor_id: '12',
      aud: FIC_AUDIENCE,
      base_ref: '',
      event_name: 'push',
      exp: NOW + 300,
      head_ref: '',
      iat: NOW,
      iss: 'https://token.actions.githubusercontent.com',
      job_workflow_ref: 'octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main',
      job_workflow_sha: SHA,
      jti: expect.stringMatching(UUID),
      nbf: NOW - 300,
      ref: 'refs/heads/main',
      ref_protected: 'false',
      ref_type: 'branch',
      repository: 'octo-org/octo-repo',
      repository_id: '74',
      repository_owner: 'octo-org',
      repository_owner_id: '65',
      repository_visibility: 'private',
      run_attempt: '1',
      run_id: '19677834613',
      run_number: '4',
      runner_environment: 'github-hosted',
      sha: SHA,
      sub: 'repo:octo-org/octo-repo:ref:refs/heads/main',
      workflow: 'Deploy',
      workflow_ref: 'octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main',
      workflow_sha: SHA,
    });
    expect(github.idTokensIssued).toBeGreaterThan(0);
  });

  it('uses https://github.com/<owner> when no audience is asked, and a new jti each time', async () => {
    const first = (await (await requestIdToken('push')).json()) as { value: string };
    const second = (await (await requestIdToken('push')).json()) as { value: string };

    const a = (await verify(first.value, 'https://github.com/octo-org')).payload;
    const b = (await verify(second.value, 'https://github.com/octo-org')).payload;
    expect(a.aud).toBe('https://github.com/octo-org');
    expect(a.jti).not.toBe(b.jti);
  });

  it.each([
    ['push', 'repo:octo-org/octo-repo:ref:refs/heads/main'],
    ['immutable', 'repo:octo-org@65/octo-repo@74:ref:refs/heads/main'],
    ['production', 'repo:octo-org/octo-repo:environment:Production%3AV1'],
    ['tag', 'repo:octo-org/octo-repo:ref:refs/tags/v1.2.0'],
    ['pullRequest', 'repo:octo-org/octo-repo:pull_request'],
    ['immutablePullRequest', 'repo:octo-org@65/octo-repo@74:pull_request'],
  ])('job %s gets the subject %s', async (jobName, subject) => {
    expect((await idToken(jobName)).sub).toBe(subject);
  });

  it('puts the environment and the tag type in their claims', async () => {
    expect(await idToken('production')).toMatchObject({
      environment: 'Production:V1',
      ref: 'refs/heads/main',
    });
    expect(await idToken('tag')).toMatchObject({ ref_type: 'tag', ref: 'refs/tags/v1.2.0' });
    expect(await idToken('push')).not.toHaveProperty('environment');
  });

  it('describes a pull request from a fork by the base repository, naming the fork nowhere', async () => {
    const claims = await idToken('forkPrivate');

    expect(claims).toMatchObject({
      sub: 'repo:octo-org/octo-repo:pull_request',
      event_name: 'pull_request',
      repository: 'octo-org/octo-repo',
      repository_owner: 'octo-org',
      repository_id: '74',
      ref: 'refs/pull/42/merge',
      base_ref: 'main',
      head_ref: 'feature/login',
    });
    expect(JSON.stringify(claims)).not.toContain('mallory');
  });

  it('gives no request URL or token to a public fork’s pull request, nor to a job without id-token: write', async () => {
    for (const jobName of ['forkPublic', 'noPermission']) {
      const job = github.job(jobName);
      expect(job.requestUrl).toBeUndefined();
      expect(job.requestToken).toBeUndefined();
      expect(job.env).toEqual({});
      await expect(github.mintIdToken(jobName)).rejects.toThrow('no ID token');
    }
  });

  it('withholds a private fork’s token too while "Send write tokens" is off', async () => {
    const strict = await startGitHubActionsOidc({ tls, jobs: { fork: { ...PULL_REQUEST, fork: FORK } } });
    try {
      expect(strict.job('fork').env).toEqual({});
    } finally {
      await strict.close();
    }
  });

  it.each([
    ['no Authorization header', null, 401],
    ['an unknown bearer token', 'Bearer not-a-job-token', 401],
    ['the right token under Basic', 'basic', 401],
    ['another job’s token', 'other', 403],
  ])('refuses a request with %s (%s)', async (_case, authorization, status) => {
    const header =
      authorization === 'basic'
        ? `Basic ${github.job('push').requestToken}`
        : authorization === 'other'
          ? `Bearer ${github.job('tag').requestToken}`
          : authorization;
    const before = github.idTokensIssued;
    const response = await requestIdToken('push', FIC_AUDIENCE, header);

    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ message: expect.any(String) });
    expect(github.idTokensIssued).toBe(before);
  });

  it('answers 404 for a job path it does not know', async () => {
    const job = github.job('push');
    const url = `${job.requestUrl}`.replace(
      /jobs\/[0-9a-f-]{36}/,
      'jobs/11111111-2222-4333-8444-555555555555',
    );

    const response = await fetch(url, { headers: { Authorization: `Bearer ${job.requestToken}` } });
    expect(response.status).toBe(404);
  });

  it('takes the token lifetime and nbf offset from options (GitHub’s doc examples: exp +300, nbf -600)', async () => {
    const documented = await startGitHubActionsOidc({
      tls,
      now: () => NOW_MS,
      notBeforeSkewSeconds: 600,
      tokenLifetimeSeconds: 300,
      jobs: { push: PUSH },
    });
    try {
      const { value } = (await (
        await fetch(`${documented.job('push').requestUrl}&audience=x`, {
          headers: { Authorization: `Bearer ${documented.job('push').requestToken}` },
        })
      ).json()) as { value: string };
      const { payload } = await jwtVerify(value, createRemoteJWKSet(new URL(documented.jwksUrl)), {
        currentDate: new Date(NOW_MS),
      });
      expect({ nbf: payload.nbf, exp: payload.exp }).toEqual({ nbf: NOW - 600, exp: NOW + 300 });
    } finally {
      await documented.close();
    }
  });

  it.each([
    [{ ...PUSH, repository: 'octo-org/octo-repo' }, 'option repository must be a bare name'],
    [{ ...PUSH, ref: 'main' }, 'option ref must start with refs/'],
    [{ ...PULL_REQUEST, headRef: undefined }, 'option headRef must be a non-empty string'],
    [{ ...PUSH, fork: FORK }, 'option fork needs eventName pull_request'],
    [{ ...PUSH, repositoryId: 'abc' }, 'option repositoryId must be a positive integer'],
  ])('refuses a job with a bad option (%#)', (job, message) => {
    expect(() => github.addJob(`bad-${message}`, job as GitHubActionsJob)).toThrow(message);
  });
});
