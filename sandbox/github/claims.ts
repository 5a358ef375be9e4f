// The claims of a GitHub Actions ID token for one job: both subject forms and GitHub's custom claims.
// Sources: github/docs oidc.md (GH1), observed tokens (pypi/warehouse#10645, 2022; rgl and others, 2025).
import { randomUUID } from 'node:crypto';
import { GITHUB_ACTIONS_ISSUER, type GitHubActionsJob } from './model.js';

/** Token timing. Observed tokens live 300 s; `nbf` sits before `iat` (600 s in 2022 and the docs, 300 s in 2025). */
export interface TokenTiming {
  nowSeconds: number;
  lifetimeSeconds: number;
  notBeforeSkewSeconds: number;
}

// GH1 "Filtering for metadata containing `:`": any `:` within a value becomes `%3A` in the subject.
const escapeColons = (value: string): string => value.replaceAll(':', '%3A');

/**
 * The default `sub` (GH1 "Example subject claims" and "Immutable subject claims"):
 * `repo:OWNER/REPO:<context>`, or `repo:OWNER@OWNER-ID/REPO@REPO-ID:<context>` in the immutable form, where the
 * context is `environment:NAME` when the job names an environment, else `pull_request` for a pull_request
 * event, else `ref:<ref>` (`refs/heads/...` or `refs/tags/...`).
 */
export function subjectOf(job: GitHubActionsJob): string {
  const owner = escapeColons(job.owner);
  const repository = escapeColons(job.repository);
  const repo = job.immutableSubject
    ? `${owner}@${job.ownerId}/${repository}@${job.repositoryId}`
    : `${owner}/${repository}`;
  let context: string;
  if (job.environment !== undefined) context = `environment:${escapeColons(job.environment)}`;
  else if (job.eventName === 'pull_request') context = 'pull_request';
  else context = `ref:${escapeColons(job.ref)}`;
  return `repo:${repo}:${context}`;
}

/** `https://github.com/<owner>`: the audience when the job asks for none (GH1, `aud`). */
export const defaultAudience = (job: GitHubActionsJob): string => `https://github.com/${job.owner}`;

/**
 * Every claim of the job's token, keys in code-point order as current tokens list them. IDs and counters
 * are strings, `ref_protected` is `"true"`/`"false"`, `base_ref`/`head_ref` are `""` outside pull requests,
 * and `environment` appears only when the job names one. For a fork's pull request the repository claims
 * are the base repository's: the workflow runs there, and no claim names the head repository.
 */
export function claimsOf(
  job: GitHubActionsJob,
  audience: string,
  timing: TokenTiming,
): Record<string, unknown> {
  const now = timing.nowSeconds;
  const claims: Record<string, unknown> = {
    actor: job.actor,
    actor_id: String(job.actorId),
    aud: audience,
    base_ref: job.baseRef ?? '',
    event_name: job.eventName,
    exp: now + timing.lifetimeSeconds,
    head_ref: job.headRef ?? '',
    iat: now,
    iss: GITHUB_ACTIONS_ISSUER,
    job_workflow_ref: job.jobWorkflowRef,
    job_workflow_sha: job.jobWorkflowSha ?? job.sha,
    jti: randomUUID(),
    nbf: now - timing.notBeforeSkewSeconds,
    ref: job.ref,
    ref_protected: String(job.refProtected ?? false),
    ref_type: job.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    repository: `${job.owner}/${job.repository}`,
    repository_id: String(job.repositoryId),
    repository_owner: job.owner,
    repository_owner_id: String(job.ownerId),
    repository_visibility: job.visibility,
    run_attempt: String(job.runAttempt),
    run_id: String(job.runId),
    run_number: String(job.runNumber),
    runner_environment: job.runnerEnvironment ?? 'github-hosted',
    sha: job.sha,
    sub: subjectOf(job),
    workflow: job.workflow,
    workflow_ref: job.workflowRef,
    workflow_sha: job.workflowSha ?? job.sha,
  };
  if (job.environment !== undefined) claims.environment = job.environment;
  if (job.checkRunId !== undefined) claims.check_run_id = String(job.checkRunId);
  if (job.enterprise !== undefined) claims.enterprise = job.enterprise;
  if (job.enterpriseId !== undefined) claims.enterprise_id = String(job.enterpriseId);
  const names = Object.keys(claims).sort();
  return Object.fromEntries(names.map((name) => [name, claims[name]]));
}
