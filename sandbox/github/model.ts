// The GitHub Actions jobs the OIDC stand-in knows, and the checks on them (errors name the option).
// Claim meanings from github/docs content/actions/reference/security/oidc.md (protocols.md §E.1, GH1).

/** GitHub.com's Actions issuer; never rewritten (protocols.md §E.1). */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';
/** Where GitHub's discovery document points `jwks_uri` (`{iss}/.well-known/jwks`). */
export const GITHUB_JWKS_PATH = '/.well-known/jwks';

export type RepositoryVisibility = 'public' | 'private' | 'internal';

/** One workflow job, as the claims describe it. IDs may be given as numbers; tokens carry them as strings. */
export interface GitHubActionsJob {
  /** Owner login (organisation or user) of the repository the workflow runs in. */
  owner: string;
  ownerId: string | number;
  /** Repository name without the owner (the claim `repository` is `owner/name`). */
  repository: string;
  repositoryId: string | number;
  /** `refs/heads/...`, `refs/tags/...`, or `refs/pull/<n>/merge` for a pull request. */
  ref: string;
  sha: string;
  /** The workflow's `name:`. */
  workflow: string;
  /** `owner/repo/.github/workflows/file.yml@<ref>`. */
  workflowRef: string;
  /** The reusable workflow's ref when one runs the job, else the same as `workflowRef`. */
  jobWorkflowRef: string;
  /** The job's `environment:`; changes the subject to `environment:<name>`. */
  environment?: string;
  /** `push`, `pull_request`, `workflow_dispatch`, ... */
  eventName: string;
  actor: string;
  actorId: string | number;
  runId: string | number;
  runNumber: string | number;
  runAttempt: string | number;
  visibility: RepositoryVisibility;
  /** Pull request target branch (`main`); "" in the claims for other events. */
  baseRef?: string;
  /** Pull request source branch; "" in the claims for other events. */
  headRef?: string;
  /** Subject in the immutable form `repo:OWNER@OWNER-ID/REPO@REPO-ID:...` (new or opted-in repositories). */
  immutableSubject?: boolean;
  /** The pull request comes from this fork. The claims still describe the base repository (see README). */
  fork?: { owner: string; repository: string };
  /** Whether the job has `permissions: id-token: write`; true unless told. */
  idTokenWrite?: boolean;
  workflowSha?: string;
  jobWorkflowSha?: string;
  refProtected?: boolean;
  runnerEnvironment?: 'github-hosted' | 'self-hosted';
  checkRunId?: string | number;
  enterprise?: string;
  enterpriseId?: string | number;
}

const VISIBILITIES: readonly RepositoryVisibility[] = ['public', 'private', 'internal'];
const PULL_REQUEST_EVENTS = ['pull_request', 'pull_request_target'];

const fail = (name: string, option: string, detail: string): never => {
  throw new Error(`startGitHubActionsOidc: job ${name}: option ${option} ${detail}`);
};

const requireText = (name: string, option: string, value: unknown): void => {
  if (typeof value !== 'string' || value === '') fail(name, option, 'must be a non-empty string');
};

const requireId = (name: string, option: string, value: unknown): void => {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^[1-9]\d*$/.test(text)) fail(name, option, 'must be a positive integer');
};

/** Checks a job's options; throws an Error naming the job and the option. */
export function checkJob(name: string, job: GitHubActionsJob): void {
  for (const option of [
    'owner',
    'repository',
    'ref',
    'sha',
    'workflow',
    'workflowRef',
    'jobWorkflowRef',
  ] as const) {
    requireText(name, option, job[option]);
  }
  for (const option of ['eventName', 'actor'] as const) requireText(name, option, job[option]);
  for (const option of ['ownerId', 'repositoryId', 'actorId', 'runId', 'runNumber', 'runAttempt'] as const) {
    requireId(name, option, job[option]);
  }
  // `@` separates names from IDs in the immutable subject because it "cannot appear" in either (GH1).
  for (const option of ['owner', 'repository'] as const) {
    if (/[/@:]/.test(job[option])) fail(name, option, 'must be a bare name (no "/", "@" or ":")');
  }
  if (!job.ref.startsWith('refs/')) fail(name, 'ref', 'must start with refs/');
  if (!VISIBILITIES.includes(job.visibility))
    fail(name, 'visibility', `must be one of ${VISIBILITIES.join(', ')}`);
  if (job.environment !== undefined) requireText(name, 'environment', job.environment);
  if (job.checkRunId !== undefined) requireId(name, 'checkRunId', job.checkRunId);
  if (job.enterpriseId !== undefined) requireId(name, 'enterpriseId', job.enterpriseId);
  const isPullRequest = PULL_REQUEST_EVENTS.includes(job.eventName);
  if (isPullRequest) {
    requireText(name, 'baseRef', job.baseRef);
    requireText(name, 'headRef', job.headRef);
  }
  if (job.fork) {
    if (!isPullRequest) fail(name, 'fork', 'needs eventName pull_request or pull_request_target');
    requireText(name, 'fork.owner', job.fork.owner);
    requireText(name, 'fork.repository', job.fork.repository);
  }
}

/**
 * Whether GitHub hands the job an ID-token request URL and token at all. Without `id-token: write` the
 * runner sets neither variable (toolkit: "Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable"). A
 * `pull_request` from a fork has every write permission lowered to read, so no token either, unless the
 * private or internal repository enables "Send write tokens to workflows from pull requests" (GitHub docs,
 * workflow syntax `permissions`; the setting exists for private and internal repositories only).
 * `pull_request_target` runs with the base repository's own permissions.
 */
export function mayRequestIdToken(
  job: GitHubActionsJob,
  sendWriteTokensToForkPullRequests: boolean,
): boolean {
  if (job.idTokenWrite === false) return false;
  if (job.fork && job.eventName === 'pull_request') {
    return sendWriteTokensToForkPullRequests && job.visibility !== 'public';
  }
  return true;
}
