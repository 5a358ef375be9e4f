// The `github` caller verifier (issue 9; protocols.md §E.1): a GitHub Actions OIDC token with the
// broker's audience. The principal comes from the structured claims, so both `sub` formats (classic
// `repo:owner/repo:…` and the immutable `repo:owner@id/repo@id:…`) yield the same fields.
import type { JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import type { CallerVerifier, GitHubPrincipal } from './callerVerifier.js';
import { createJwtCallerVerifier, refuseCaller } from './jwtCaller.js';
import type { KeyGetter } from './verifiedTokenCache.js';

export interface GitHubVerifierOptions {
  /** `https://token.actions.githubusercontent.com`, or a GHES / GHE.com issuer. */
  issuer: string;
  keys: KeyGetter;
  audience: string;
  maxLifetimeSeconds: number;
  clockSkewSeconds: number;
  maxTokenBytes: number;
  clock: Clock;
}

const REQUIRED = [
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'ref',
  'event_name',
  'workflow_ref',
  'job_workflow_ref',
] as const;

/** Builds the verifier. */
export function createGitHubVerifier(options: GitHubVerifierOptions): CallerVerifier {
  return createJwtCallerVerifier<GitHubPrincipal>({
    issuers: [options.issuer],
    keysFor: () => options.keys,
    audience: options.audience,
    algorithms: ['RS256'],
    typ: ['JWT'],
    issuerName: 'GitHub Actions',
    maxLifetimeSeconds: options.maxLifetimeSeconds,
    clockSkewSeconds: options.clockSkewSeconds,
    maxTokenBytes: options.maxTokenBytes,
    clock: options.clock,
    principalOf(payload: JWTPayload) {
      const text = (name: string) => payload[name];
      const missing = REQUIRED.find((name) => typeof text(name) !== 'string' || text(name) === '');
      if (missing !== undefined)
        throw refuseCaller(`The subject token's '${missing}' claim is missing or invalid.`);
      if (typeof payload.sub !== 'string' || !payload.sub.startsWith('repo:'))
        throw refuseCaller("The subject token's 'sub' is not a GitHub Actions subject.");
      const environment = text('environment');
      return {
        kind: 'github',
        subject: payload.sub,
        owner: text('repository_owner') as string,
        ownerId: text('repository_owner_id') as string,
        repository: text('repository') as string,
        repositoryId: text('repository_id') as string,
        ref: text('ref') as string,
        environment: typeof environment === 'string' && environment !== '' ? environment : undefined,
        eventName: text('event_name') as string,
        workflowRef: text('workflow_ref') as string,
        jobWorkflowRef: text('job_workflow_ref') as string,
      };
    },
  });
}
