// The first policy format: schema errors name their path; decisions fail closed with a reason.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type {
  AwsWebIdentityPrincipal,
  CallerPrincipal,
  CognitoPrincipal,
  GooglePrincipal,
} from '../../shared/callers/callerVerifier.js';
import {
  compilePolicy,
  loadPolicyFile,
  type PolicyError,
  publishedScope,
  type Target,
} from '../../shared/policy.js';
import { PAYMENTS_ROLE_SESSION } from '../helpers/principals.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const VAULT = 'https://vault.azure.net/.default';
const GRAPH = 'https://graph.microsoft.com/.default';

const document = () => ({
  version: 1,
  targets: {
    'vault-reader': { tenant: TENANT, clientId: CLIENT, scopes: [VAULT], source: 'gcpMetadata' },
    'two-apis': {
      tenant: 'contoso.onmicrosoft.com',
      clientId: CLIENT,
      scopes: [VAULT, GRAPH],
      source: 'gcpMetadata',
    },
  },
  rules: [
    {
      name: 'by-subject',
      callers: [{ kind: 'google', subject: '123' }],
      targets: ['vault-reader', 'two-apis'],
    },
    {
      name: 'by-email-in-project',
      callers: [{ kind: 'google', email: 'a@p.iam.gserviceaccount.com', projectId: 'p' }],
      targets: ['vault-reader'],
    },
  ],
});

const caller = (overrides: Partial<GooglePrincipal> = {}): GooglePrincipal => ({
  kind: 'google',
  issuer: 'https://accounts.google.com',
  subject: '999',
  email: undefined,
  projectId: undefined,
  ...overrides,
});

describe('policy decisions', () => {
  const policy = compilePolicy(document());

  it.each([
    [
      'a subject rule, default scope',
      caller({ subject: '123' }),
      'vault-reader',
      undefined,
      { allowed: true, reason: 'rule_matched', rule: 'by-subject', scope: VAULT },
    ],
    [
      'an email+project rule',
      caller({ email: 'a@p.iam.gserviceaccount.com', projectId: 'p' }),
      'vault-reader',
      VAULT,
      { allowed: true, rule: 'by-email-in-project' },
    ],
    [
      'an explicit second scope',
      caller({ subject: '123' }),
      'two-apis',
      GRAPH,
      { allowed: true, scope: GRAPH },
    ],
    [
      'two rules that match: the first in the file is named',
      caller({ subject: '123', email: 'a@p.iam.gserviceaccount.com', projectId: 'p' }),
      'vault-reader',
      undefined,
      { allowed: true, rule: 'by-subject' },
    ],
    [
      'a subject that only starts like the rule',
      caller({ subject: '1234' }),
      'vault-reader',
      undefined,
      { allowed: false, reason: 'no_rule_matches' },
    ],
    [
      'an email in another project',
      caller({ email: 'a@p.iam.gserviceaccount.com', projectId: 'q' }),
      'vault-reader',
      undefined,
      { allowed: false, reason: 'no_rule_matches' },
    ],
    [
      'an email in another case',
      caller({ email: 'A@p.iam.gserviceaccount.com', projectId: 'p' }),
      'vault-reader',
      undefined,
      { allowed: false, reason: 'no_rule_matches' },
    ],
    [
      'a target the rule does not name',
      caller({ email: 'a@p.iam.gserviceaccount.com', projectId: 'p' }),
      'two-apis',
      VAULT,
      { allowed: false, reason: 'no_rule_matches' },
    ],
    [
      'an unknown target',
      caller({ subject: '123' }),
      'nope',
      undefined,
      { allowed: false, reason: 'unknown_target' },
    ],
    [
      'an inherited property name as target',
      caller({ subject: '123' }),
      'constructor',
      undefined,
      { allowed: false, reason: 'unknown_target' },
    ],
    [
      'a scope outside the target',
      caller({ subject: '123' }),
      'vault-reader',
      GRAPH,
      { allowed: false, reason: 'scope_not_allowed' },
    ],
    [
      'no scope where the target has two',
      caller({ subject: '123' }),
      'two-apis',
      undefined,
      { allowed: false, reason: 'scope_missing' },
    ],
  ])('%s', (_name, principal, targetName, scope, expected) => {
    expect(policy.decide(principal, targetName, scope)).toMatchObject(expected);
  });
});

describe('policy schema', () => {
  const problems = (mutate: (d: ReturnType<typeof document>) => unknown): string[] => {
    try {
      compilePolicy(mutate(document()));
    } catch (error) {
      return (error as PolicyError).problems as string[];
    }
    return [];
  };

  it.each([
    [
      'a rule naming no target',
      (d: ReturnType<typeof document>) => {
        d.rules[0]?.targets.push('ghost');
        return d;
      },
      'rules.0.targets.2 names no target "ghost"',
    ],
    [
      'a scope without /.default',
      (d: ReturnType<typeof document>) => {
        d.targets['vault-reader'].scopes = ['https://vault.azure.net/read'];
        return d;
      },
      'targets.vault-reader.scopes.0 must be one resource followed by /.default',
    ],
    [
      'a project-only caller',
      (d: ReturnType<typeof document>) => {
        d.rules[0] = {
          name: 'x',
          callers: [{ kind: 'google', projectId: 'p' } as never],
          targets: ['vault-reader'],
        };
        return d;
      },
      'rules.0.callers.0 a google caller needs "subject" or "email"; a project alone admits every account in it',
    ],
    [
      'a duplicate rule name',
      (d: ReturnType<typeof document>) => {
        d.rules.push({ ...d.rules[0] } as never);
        return d;
      },
      'rules.2.name is used twice',
    ],
    [
      'an unknown top-level key',
      (d: ReturnType<typeof document>) => ({ ...d, defaults: {} }),
      '(root) Unrecognized key: "defaults"',
    ],
    [
      'a bad client id',
      (d: ReturnType<typeof document>) => {
        d.targets['vault-reader'].clientId = 'nope';
        return d;
      },
      'targets.vault-reader.clientId must be a client id GUID',
    ],
    [
      'a newer version',
      (d: ReturnType<typeof document>) => ({ ...d, version: 2 }),
      'version Invalid input: expected 1',
    ],
  ])('refuses %s', (_name, mutate, problem) => {
    expect(problems(mutate)).toContain(problem);
  });

  it('loads a file, and names the file when it cannot be read or parsed', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'policy-'));
    await writeFile(path.join(dir, 'good.json'), JSON.stringify(document()));
    await writeFile(path.join(dir, 'bad.json'), '{ not json');

    expect((await loadPolicyFile(path.join(dir, 'good.json'))).targets.size).toBe(2);
    await expect(loadPolicyFile(path.join(dir, 'bad.json'))).rejects.toThrow(
      `invalid policy: ${dir}/bad.json is not valid JSON`,
    );
    await expect(loadPolicyFile(path.join(dir, 'none.json'))).rejects.toThrow(
      `${dir}/none.json cannot be read (ENOENT)`,
    );
  });
});

describe('publish', () => {
  const withPublish = (name: 'vault-reader' | 'two-apis', publish: Record<string, unknown>) => {
    const d = document();
    Object.assign(d.targets[name], { publish });
    return d;
  };
  const problems = (d: unknown): readonly string[] => {
    try {
      compilePolicy(d);
    } catch (error) {
      return (error as PolicyError).problems;
    }
    return [];
  };
  const vault = { vaultUrl: 'https://my-vault.vault.azure.net', secretName: 'graph-token' };

  it("defaults the published scope to a target's only scope and takes a named one of several", () => {
    expect(
      publishedScope(compilePolicy(withPublish('vault-reader', vault)).targets.get('vault-reader') as Target),
    ).toBe(VAULT);
    expect(
      publishedScope(
        compilePolicy(withPublish('two-apis', { ...vault, scope: GRAPH })).targets.get('two-apis') as Target,
      ),
    ).toBe(GRAPH);
  });

  it('refuses a missing or foreign scope, a vault URL with a path or without https, and a bad secret name', () => {
    expect(problems(withPublish('two-apis', vault))).toEqual([
      'targets.two-apis.publish.scope is required: the target has several scopes',
    ]);
    expect(problems(withPublish('vault-reader', { ...vault, scope: GRAPH }))).toEqual([
      "targets.vault-reader.publish.scope must be one of the target's scopes",
    ]);
    for (const vaultUrl of ['http://my-vault.vault.azure.net', 'https://my-vault.vault.azure.net/secrets/x'])
      expect(problems(withPublish('vault-reader', { ...vault, vaultUrl }))).toEqual([
        'targets.vault-reader.publish.vaultUrl must be a vault URL such as https://my-vault.vault.azure.net',
      ]);
    expect(problems(withPublish('vault-reader', { ...vault, secretName: 'has_underscore' }))).toEqual([
      'targets.vault-reader.publish.secretName must be 1-127 letters, digits or "-"',
    ]);
  });
});

describe('aws-iam callers', () => {
  const role = PAYMENTS_ROLE_SESSION;
  const withCallers = (...callers: unknown[]) =>
    compilePolicy({ ...document(), rules: [{ name: 'aws', callers, targets: ['vault-reader'] }] });

  it.each([
    ['the role by name', { kind: 'aws-iam', account: '111122223333', role: 'payments-app' }, role, true],
    [
      'the role in another account',
      { kind: 'aws-iam', account: '999988887777', role: 'payments-app' },
      role,
      false,
    ],
    [
      'a user of the same name',
      { kind: 'aws-iam', account: '111122223333', user: 'payments-app' },
      role,
      false,
    ],
    [
      'the unique id',
      { kind: 'aws-iam', account: '111122223333', userId: 'AROAEXAMPLECALLER0001' },
      role,
      true,
    ],
    ['the session ARN', { kind: 'aws-iam', account: '111122223333', arn: role.subject }, role, true],
    [
      'a role name in another case',
      { kind: 'aws-iam', account: '111122223333', role: 'Payments-App' },
      role,
      false,
    ],
    ['a google rule', { kind: 'google', subject: '111122223333' }, role, false],
  ])('%s: matches is %s', (_name, entry, principal, allowed) => {
    expect(withCallers(entry).decide(principal, 'vault-reader', undefined).allowed).toBe(allowed);
  });

  it('is a caller kind only when a rule names one', () => {
    expect([...compilePolicy(document()).callerKinds]).toEqual(['google']);
    expect([...withCallers({ kind: 'aws-iam', account: '111122223333', role: 'r' }).callerKinds]).toEqual([
      'aws-iam',
    ]);
  });

  it.each([
    [{ kind: 'aws-iam', account: '111122223333' }, 'an account alone admits every principal in it'],
    [{ kind: 'aws-iam', account: '111122223333', role: 'a', user: 'b' }, 'names a role or a user, not both'],
    [{ kind: 'aws-iam', account: '1111', role: 'a' }, 'must be a 12-digit AWS account id'],
    [{ kind: 'aws-iam', account: '111122223333', role: 'a', region: 'x' }, 'region'],
  ])('refuses %j', (entry, problem) => {
    expect(() => withCallers(entry)).toThrow(problem);
  });
});

describe('aws-web-identity and cognito callers', () => {
  const role: AwsWebIdentityPrincipal = {
    kind: 'aws-web-identity',
    subject: 'arn:aws:iam::111122223333:role/service/payments-app',
    issuer: 'https://x.tokens.sts.global.api.aws',
    account: '111122223333',
    type: 'role',
    name: 'payments-app',
    orgId: 'o-abc123',
    ouPath: 'o-abc123/r-root/ou-prod/',
    principalTags: { team: 'payments', env: 'prod' },
  };
  const identity: CognitoPrincipal = {
    kind: 'cognito',
    subject: 'eu-west-1:7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d',
    identityPool: 'eu-west-1:0d3c2b1a-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  };
  const decide = (entry: unknown, principal: AwsWebIdentityPrincipal | CognitoPrincipal) =>
    compilePolicy({
      ...document(),
      rules: [{ name: 'r', callers: [entry], targets: ['vault-reader'] }],
    }).decide(principal, 'vault-reader', undefined).allowed;
  const web = { kind: 'aws-web-identity', account: '111122223333' };

  it.each([
    [
      'the role, org and OU',
      { ...web, role: 'payments-app', orgId: 'o-abc123', ouPath: 'o-abc123/r-root/ou-prod/' },
      true,
    ],
    ['the exact ARN with a tag', { ...web, arn: role.subject, principalTags: { team: 'payments' } }, true],
    ['a tag with another value', { ...web, role: 'payments-app', principalTags: { env: 'dev' } }, false],
    ['another organization', { ...web, role: 'payments-app', orgId: 'o-other' }, false],
    [
      'an aws-iam entry for the same role',
      { kind: 'aws-iam', account: '111122223333', role: 'payments-app' },
      false,
    ],
  ])('aws-web-identity: %s matches is %s', (_name, entry, allowed) => {
    expect(decide(entry, role)).toBe(allowed);
  });

  it.each([
    [
      'the pool and identity',
      { kind: 'cognito', identityPool: identity.identityPool, identity: identity.subject },
      true,
    ],
    [
      'another identity of the pool',
      {
        kind: 'cognito',
        identityPool: identity.identityPool,
        identity: 'eu-west-1:00000000-0000-4000-8000-000000000000',
      },
      false,
    ],
  ])('cognito: %s matches is %s', (_name, entry, allowed) => {
    expect(decide(entry, identity)).toBe(allowed);
  });

  it.each([
    [{ ...web }, 'an account alone admits every principal in it'],
    [{ kind: 'cognito', identityPool: identity.identityPool }, 'identity'],
  ])('refuses %j', (entry, problem) => {
    expect(() =>
      compilePolicy({ ...document(), rules: [{ name: 'r', callers: [entry], targets: ['vault-reader'] }] }),
    ).toThrow(problem);
  });
});

describe('spiffe, kubernetes, github and oidc callers', () => {
  const decide = (entry: unknown, principal: CallerPrincipal) =>
    compilePolicy({
      ...document(),
      rules: [{ name: 'r', callers: [entry], targets: ['vault-reader'] }],
    }).decide(principal, 'vault-reader', undefined).allowed;
  const workload: CallerPrincipal = {
    kind: 'spiffe',
    subject: 'spiffe://example.org/ns/prod/sa/api',
    trustDomain: 'example.org',
    path: '/ns/prod/sa/api',
  };
  const pod: CallerPrincipal = {
    kind: 'kubernetes',
    subject: 'system:serviceaccount:payments:api',
    issuer: 'https://k8s.example/',
    namespace: 'payments',
    serviceAccount: 'api',
    serviceAccountUid: 'u',
    pod: 'api-1',
  };
  const job: CallerPrincipal = {
    kind: 'github',
    subject: 'repo:contoso/payments:environment:prod',
    owner: 'contoso',
    ownerId: '45',
    repository: 'contoso/payments',
    repositoryId: '123',
    ref: 'refs/heads/main',
    environment: 'prod',
    eventName: 'push',
    workflowRef: 'w',
    jobWorkflowRef: 'j',
  };
  const other: CallerPrincipal = {
    kind: 'oidc',
    issuer: 'https://gitlab.example.com',
    subject: 's',
    claims: { project_path: 'g/p' },
  };

  it.each([
    [
      'a SPIFFE path',
      { kind: 'spiffe', trustDomain: 'example.org', path: '/ns/prod/sa/api' },
      workload,
      true,
    ],
    [
      'the same path in another trust domain',
      { kind: 'spiffe', trustDomain: 'other.org', path: '/ns/prod/sa/api' },
      workload,
      false,
    ],
    [
      'the service account',
      { kind: 'kubernetes', issuer: 'https://k8s.example/', namespace: 'payments', serviceAccount: 'api' },
      pod,
      true,
    ],
    [
      'another cluster',
      { kind: 'kubernetes', issuer: 'https://k8s.example', namespace: 'payments', serviceAccount: 'api' },
      pod,
      false,
    ],
    [
      'the repository and environment',
      { kind: 'github', repository: 'contoso/payments', environment: 'prod' },
      job,
      true,
    ],
    [
      'a fork of the repository',
      { kind: 'github', repository: 'contoso/payments' },
      { ...job, repository: 'mallory/payments', repositoryId: '999' },
      false,
    ],
    ['another branch', { kind: 'github', repositoryId: '123', ref: 'refs/heads/release' }, job, false],
    [
      'an oidc claim',
      { kind: 'oidc', issuer: 'https://gitlab.example.com', claims: { project_path: 'g/p' } },
      other,
      true,
    ],
    [
      'an oidc claim the principal lacks',
      { kind: 'oidc', issuer: 'https://gitlab.example.com', claims: { namespace_id: '7' } },
      other,
      false,
    ],
  ])('%s: matches is %s', (_name, entry, principal, allowed) => {
    expect(decide(entry, principal as CallerPrincipal)).toBe(allowed);
  });

  it.each([
    [{ kind: 'spiffe', trustDomain: 'example.org' }, 'a trust domain alone admits every workload in it'],
    [{ kind: 'github', owner: 'contoso' }, 'an owner alone admits every repository'],
    [{ kind: 'oidc', issuer: 'https://gitlab.example.com' }, 'an issuer alone admits everyone it issues for'],
    [{ kind: 'kubernetes', issuer: 'https://k8s.example/', namespace: 'payments' }, 'serviceAccount'],
  ])('refuses %j', (entry, problem) => {
    expect(() =>
      compilePolicy({ ...document(), rules: [{ name: 'r', callers: [entry], targets: ['vault-reader'] }] }),
    ).toThrow(problem);
  });
});
