// The caller entries of a policy rule, one schema per caller kind with exact-match fields, and how an
// entry matches a verified principal (issues 4, 8, 9). Each kind refuses an entry that would admit a
// whole account, project, trust domain, cluster or owner.
import type { CallerPrincipal } from './callers/callerVerifier.js';
import { nonEmpty } from './configValues.js';
import * as z from './schema.js';

const googleCaller = z
  .strictObject({
    kind: z.literal('google'),
    subject: z.optional(z.string().check(z.regex(/^[0-9]{1,255}$/, 'must be a Google unique id'))),
    email: z.optional(z.email()),
    projectId: nonEmpty(),
  })
  .check(
    z.refine((caller) => caller.subject !== undefined || caller.email !== undefined, {
      message: 'a google caller needs "subject" or "email"; a project alone admits every account in it',
    }),
  );

const AWS_NAME = /^[\w+=,.@-]{1,128}$/;
const awsIamCaller = z
  .strictObject({
    kind: z.literal('aws-iam'),
    account: z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit AWS account id')),
    role: z.optional(z.string().check(z.regex(AWS_NAME, 'must be an IAM role name'))),
    user: z.optional(z.string().check(z.regex(AWS_NAME, 'must be an IAM user name'))),
    arn: z.optional(z.string().check(z.startsWith('arn:', 'must be an ARN'))),
    userId: z.optional(
      z.string().check(z.regex(/^[A-Z0-9]{16,128}$/, 'must be an IAM unique id (AROA…, AIDA…)')),
    ),
  })
  .check(
    z.refine((caller) => [caller.role, caller.user, caller.arn, caller.userId].some((v) => v !== undefined), {
      message:
        'an aws-iam caller needs "role", "user", "arn" or "userId"; an account alone admits every principal in it',
    }),
    z.refine((caller) => caller.role === undefined || caller.user === undefined, {
      message: 'an aws-iam caller names a role or a user, not both',
    }),
  );

const awsWebIdentityCaller = z
  .strictObject({
    kind: z.literal('aws-web-identity'),
    account: z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit AWS account id')),
    role: z.optional(z.string().check(z.regex(AWS_NAME, 'must be an IAM role name'))),
    user: z.optional(z.string().check(z.regex(AWS_NAME, 'must be an IAM user name'))),
    arn: z.optional(z.string().check(z.startsWith('arn:', 'must be an ARN'))),
    orgId: nonEmpty(),
    ouPath: nonEmpty(),
    principalTags: z.optional(z.record(z.string(), z.string())),
  })
  .check(
    z.refine((caller) => [caller.role, caller.user, caller.arn].some((v) => v !== undefined), {
      message:
        'an aws-web-identity caller needs "role", "user" or "arn"; an account alone admits every principal in it',
    }),
    z.refine((caller) => caller.role === undefined || caller.user === undefined, {
      message: 'an aws-web-identity caller names a role or a user, not both',
    }),
  );

const cognitoCaller = z.strictObject({
  kind: z.literal('cognito'),
  identityPool: z
    .string()
    .check(z.regex(/^[\w-]+:[0-9a-f-]+$/, 'must be an identity pool id (<region>:<guid>)')),
  identity: z.string().check(z.regex(/^[\w-]+:[0-9a-f-]+$/, 'must be an identity id (<region>:<guid>)')),
});

const spiffeCaller = z
  .strictObject({
    kind: z.literal('spiffe'),
    trustDomain: z.string().check(z.regex(/^[a-z0-9._-]{1,255}$/, 'must be a trust domain name')),
    id: z.optional(z.string().check(z.startsWith('spiffe://', 'must be a SPIFFE ID'))),
    path: z.optional(z.string().check(z.startsWith('/', 'must be a SPIFFE ID path'))),
  })
  .check(
    z.refine((caller) => caller.id !== undefined || caller.path !== undefined, {
      message: 'a spiffe caller needs "id" or "path"; a trust domain alone admits every workload in it',
    }),
  );

const kubernetesCaller = z.strictObject({
  kind: z.literal('kubernetes'),
  issuer: z.url(),
  namespace: z.string().check(z.minLength(1)),
  serviceAccount: z.string().check(z.minLength(1)),
  pod: nonEmpty(),
});

const githubCaller = z
  .strictObject({
    kind: z.literal('github'),
    subject: z.optional(z.string().check(z.startsWith('repo:'))),
    repository: z.optional(z.string().check(z.regex(/^[\w.-]+\/[\w.-]+$/, 'must be owner/repo'))),
    repositoryId: z.optional(z.string().check(z.regex(/^\d+$/, 'must be a repository id'))),
    owner: nonEmpty(),
    ownerId: z.optional(z.string().check(z.regex(/^\d+$/))),
    ref: nonEmpty(),
    environment: nonEmpty(),
    eventName: nonEmpty(),
    workflowRef: nonEmpty(),
    jobWorkflowRef: nonEmpty(),
  })
  .check(
    z.refine(
      (caller) => [caller.subject, caller.repository, caller.repositoryId].some((v) => v !== undefined),
      {
        message:
          'a github caller needs "subject", "repository" or "repositoryId"; an owner alone admits every repository',
      },
    ),
  );

const oidcCaller = z
  .strictObject({
    kind: z.literal('oidc'),
    issuer: z.string().check(z.minLength(1)),
    subject: nonEmpty(),
    claims: z.optional(z.record(z.string(), z.string())),
  })
  .check(
    z.refine((caller) => caller.subject !== undefined || Object.keys(caller.claims ?? {}).length > 0, {
      message: 'an oidc caller needs "subject" or "claims"; an issuer alone admits everyone it issues for',
    }),
  );

export const callerEntry = z.discriminatedUnion('kind', [
  googleCaller,
  awsIamCaller,
  awsWebIdentityCaller,
  cognitoCaller,
  spiffeCaller,
  kubernetesCaller,
  githubCaller,
  oidcCaller,
]);
export type CallerEntry = z.infer<typeof callerEntry>;

/** Every field the rule names must equal the principal's exactly (case-sensitive, as Entra matches). */
export function callerMatches(rule: CallerEntry, caller: CallerPrincipal): boolean {
  if (rule.kind === 'google' && caller.kind === 'google') {
    return (
      (rule.subject === undefined || rule.subject === caller.subject) &&
      (rule.email === undefined || rule.email === caller.email) &&
      (rule.projectId === undefined || rule.projectId === caller.projectId)
    );
  }
  if (rule.kind === 'aws-web-identity' && caller.kind === 'aws-web-identity') {
    return (
      rule.account === caller.account &&
      (rule.role === undefined || (caller.type === 'role' && rule.role === caller.name)) &&
      (rule.user === undefined || (caller.type === 'user' && rule.user === caller.name)) &&
      (rule.arn === undefined || rule.arn === caller.subject) &&
      (rule.orgId === undefined || rule.orgId === caller.orgId) &&
      (rule.ouPath === undefined || rule.ouPath === caller.ouPath) &&
      Object.entries(rule.principalTags ?? {}).every(([key, value]) => caller.principalTags[key] === value)
    );
  }
  if (rule.kind === 'cognito' && caller.kind === 'cognito') {
    return rule.identityPool === caller.identityPool && rule.identity === caller.subject;
  }
  if (rule.kind === 'spiffe' && caller.kind === 'spiffe') {
    return (
      rule.trustDomain === caller.trustDomain &&
      (rule.id === undefined || rule.id === caller.subject) &&
      (rule.path === undefined || rule.path === caller.path)
    );
  }
  if (rule.kind === 'kubernetes' && caller.kind === 'kubernetes') {
    return (
      rule.issuer === caller.issuer &&
      rule.namespace === caller.namespace &&
      rule.serviceAccount === caller.serviceAccount &&
      (rule.pod === undefined || rule.pod === caller.pod)
    );
  }
  if (rule.kind === 'github' && caller.kind === 'github') {
    const fields = [
      'subject',
      'repository',
      'repositoryId',
      'owner',
      'ownerId',
      'ref',
      'environment',
      'eventName',
      'workflowRef',
      'jobWorkflowRef',
    ] as const;
    return fields.every((name) => rule[name] === undefined || rule[name] === caller[name]);
  }
  if (rule.kind === 'oidc' && caller.kind === 'oidc') {
    return (
      rule.issuer === caller.issuer &&
      (rule.subject === undefined || rule.subject === caller.subject) &&
      Object.entries(rule.claims ?? {}).every(([name, value]) => caller.claims[name] === value)
    );
  }
  if (rule.kind === 'aws-iam' && caller.kind === 'aws-iam') {
    return (
      rule.account === caller.account &&
      (rule.role === undefined || (caller.type === 'role' && rule.role === caller.name)) &&
      (rule.user === undefined || (caller.type === 'user' && rule.user === caller.name)) &&
      (rule.arn === undefined || rule.arn === caller.subject) &&
      (rule.userId === undefined || rule.userId === caller.userId)
    );
  }
  return false;
}
