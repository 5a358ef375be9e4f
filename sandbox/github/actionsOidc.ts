// GitHub Actions OIDC over https: `https://token.actions.githubusercontent.com` (discovery, JWKS with x5c/x5t,
// `iss` never rewritten) and the runner's ID-token endpoint that ACTIONS_ID_TOKEN_REQUEST_URL points at.
import { randomBytes, randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { createOidcIssuer, type OidcIssuer } from '../lib/oidcIssuer.js';
import { type RunningServer, serve } from '../lib/serve.js';
import type { PemPair } from '../lib/tls.js';
import { claimsOf, defaultAudience } from './claims.js';
import {
  checkJob,
  GITHUB_ACTIONS_ISSUER,
  GITHUB_JWKS_PATH,
  type GitHubActionsJob,
  mayRequestIdToken,
} from './model.js';
import { createKeyCertificates } from './x5c.js';

export { GITHUB_ACTIONS_ISSUER, GITHUB_JWKS_PATH, type GitHubActionsJob } from './model.js';

// The discovery document GitHub serves (captured copies of token.actions.githubusercontent.com, 2023-2025).
const CLAIMS_SUPPORTED =
  'sub aud exp iat iss jti nbf ref repository repository_id repository_owner repository_owner_id run_id run_number run_attempt actor actor_id workflow workflow_ref workflow_sha head_ref base_ref event_name ref_type environment environment_node_id job_workflow_ref job_workflow_sha repository_visibility runner_environment';
// The observed ACTIONS_ID_TOKEN_REQUEST_URL: `<host>/<opaque>/<zero GUID>/_apis/distributedtask/hubs/Actions/plans/<GUID>/jobs/<GUID>/idtoken?api-version=2.0`.
const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
const ID_TOKEN_ROUTE = `/:hub/${ZERO_GUID}/_apis/distributedtask/hubs/Actions/plans/:plan/jobs/:job/idtoken`;

export interface GitHubActionsOidcOptions {
  /** Certificate and key for https (from the sandbox CA). */
  tls: PemPair;
  port?: number;
  host?: string;
  /** Jobs by a name the test chooses; more can be added with `addJob`. */
  jobs?: Readonly<Record<string, GitHubActionsJob>>;
  /** Milliseconds since the epoch; Date.now unless told. */
  now?: () => number;
  /** `exp - iat`; 300 unless told (observed tokens, 2022-2025). */
  tokenLifetimeSeconds?: number;
  /** `iat - nbf`; 300 unless told (2025 tokens; 2022 tokens and GitHub's doc examples show 600). */
  notBeforeSkewSeconds?: number;
  /** The private/internal repository setting "Send write tokens to workflows from pull requests"; off. */
  sendWriteTokensToForkPullRequests?: boolean;
}

/** A job as its runner sees it. The URL and token are undefined when GitHub would not set them. */
export interface GitHubActionsJobHandle {
  readonly name: string;
  readonly job: GitHubActionsJob;
  /** ACTIONS_ID_TOKEN_REQUEST_URL: already has `?api-version=2.0`, so clients append `&audience=`. */
  readonly requestUrl: string | undefined;
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN: this job's bearer token for the endpoint (opaque here). */
  readonly requestToken: string | undefined;
  /** Both variables as the runner exports them, or `{}` for a job without `id-token: write`. */
  readonly env: Readonly<Record<string, string>>;
}

export interface GitHubActionsOidc extends OidcIssuer {
  readonly server: RunningServer;
  /** `<base>/.well-known/openid-configuration`. */
  readonly discoveryUrl: string;
  /** `<base>/.well-known/jwks`. */
  readonly jwksUrl: string;
  readonly adminUrl: string;
  /** ID tokens handed out by the endpoint so far. */
  readonly idTokensIssued: number;
  job(name: string): GitHubActionsJobHandle;
  addJob(name: string, job: GitHubActionsJob): GitHubActionsJobHandle;
  /** The token the endpoint would answer for this job and audience (default audience when absent). */
  mintIdToken(name: string, audience?: string): Promise<string>;
  close(): Promise<void>;
}

const integerAtLeast = (name: string, value: number, min: number): number => {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`startGitHubActionsOidc: option ${name} must be an integer of at least ${min}`);
  }
  return value;
};

const opaque = (length: number): string =>
  randomBytes(length).toString('base64url').replace(/[-_]/g, 'x').slice(0, length);

// The real endpoint's refusal bodies are not captured; `message` is what @actions/core's OidcClient prints.
const refuse = (c: Context, status: 401 | 403 | 404, message: string): Response =>
  c.json({ message }, status);

/**
 * Starts the stand-in for GitHub's Actions OIDC provider over https. Discovery and JWKS follow GitHub's
 * shapes (see README); tokens are RS256 with header `{alg, kid, typ: "JWT", x5t}` and the claims of
 * `claimsOf`. Each job with `id-token: write` gets its own request URL and bearer token for
 * `GET <requestUrl>&audience=<urlencoded>` → 200 `{"value": "<jwt>"}`; no or a malformed Authorization
 * header, or an unknown token → 401; another job's token → 403; an unknown job path → 404.
 */
export async function startGitHubActionsOidc(options: GitHubActionsOidcOptions): Promise<GitHubActionsOidc> {
  const lifetimeSeconds = integerAtLeast('tokenLifetimeSeconds', options.tokenLifetimeSeconds ?? 300, 1);
  const notBeforeSkewSeconds = integerAtLeast('notBeforeSkewSeconds', options.notBeforeSkewSeconds ?? 300, 0);
  const now = options.now ?? (() => Date.now());
  const issuer = await createOidcIssuer({
    issuer: GITHUB_ACTIONS_ISSUER,
    algorithm: 'RS256',
    jwksPath: GITHUB_JWKS_PATH,
  });
  // GitHub's current signing key has a UUID-shaped kid (e.g. 38826b17-6a30-5f9b-b169-8beb8202f723).
  const first = issuer.activeKid;
  await issuer.addKey({ kid: randomUUID(), activate: true });
  issuer.unpublishKey(first);

  const certificates = createKeyCertificates();

  const hub = opaque(50);
  const handles = new Map<string, GitHubActionsJobHandle & { jobId: string; planId: string }>();
  const jobIdsByToken = new Map<string, string>();
  let idTokensIssued = 0;
  let base = '';

  function addJob(name: string, job: GitHubActionsJob): GitHubActionsJobHandle {
    if (handles.has(name)) throw new Error(`startGitHubActionsOidc: job ${name} already exists`);
    checkJob(name, job);
    const jobId = randomUUID();
    const planId = randomUUID();
    const allowed = mayRequestIdToken(job, options.sendWriteTokensToForkPullRequests ?? false);
    const requestToken = allowed ? randomBytes(32).toString('base64url') : undefined;
    const requestUrl = allowed
      ? `${base}/${hub}/${ZERO_GUID}/_apis/distributedtask/hubs/Actions/plans/${planId}/jobs/${jobId}/idtoken?api-version=2.0`
      : undefined;
    const env: Record<string, string> =
      requestUrl && requestToken
        ? { ACTIONS_ID_TOKEN_REQUEST_URL: requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken }
        : {};
    const handle = { name, job: { ...job }, requestUrl, requestToken, env, jobId, planId };
    handles.set(name, handle);
    if (requestToken) jobIdsByToken.set(requestToken, jobId);
    return handle;
  }

  async function mint(job: GitHubActionsJob, audience: string | undefined): Promise<string> {
    const claims = claimsOf(job, audience || defaultAudience(job), {
      nowSeconds: Math.floor(now() / 1000),
      lifetimeSeconds,
      notBeforeSkewSeconds,
    });
    const jwk = issuer.jwks().keys.find((key) => key.kid === issuer.activeKid);
    const x5t = jwk ? (await certificates.forKey(jwk)).x5t : undefined;
    return issuer.sign(claims, { header: { x5t } });
  }

  const app = new Hono();
  app.use(GITHUB_JWKS_PATH, certificates.jwksMiddleware);
  app.get(ID_TOKEN_ROUTE, async (c) => {
    const handle = [...handles.values()].find(
      (h) => h.jobId === c.req.param('job') && h.planId === c.req.param('plan') && c.req.param('hub') === hub,
    );
    if (!handle?.requestToken) return refuse(c, 404, 'Not Found');
    const match = /^Bearer +(\S+)$/i.exec(c.req.header('authorization') ?? '');
    const presentedJob = match?.[1] ? jobIdsByToken.get(match[1]) : undefined;
    if (presentedJob === undefined) return refuse(c, 401, 'Unauthorized: no valid job token');
    if (presentedJob !== handle.jobId) return refuse(c, 403, 'Forbidden: the token belongs to another job');
    const value = await mint(handle.job, c.req.query('audience'));
    idTokensIssued += 1;
    return c.json({ value });
  });
  app.route('/', issuer.app);

  const server = await serve(app, { tls: options.tls, port: options.port, host: options.host });
  base = server.url;
  issuer.setBaseUrl(base);
  issuer.setDiscoveryOverrides({
    subject_types_supported: ['public', 'pairwise'],
    response_types_supported: ['id_token'],
    claims_supported: CLAIMS_SUPPORTED.split(' '),
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid'],
    authorization_endpoint: undefined,
  });
  for (const [name, job] of Object.entries(options.jobs ?? {})) addJob(name, job);

  const handleOf = (name: string): GitHubActionsJobHandle => {
    const handle = handles.get(name);
    if (!handle) throw new Error(`startGitHubActionsOidc: no job named ${name}`);
    return handle;
  };
  const started = Object.assign(issuer, {
    server,
    discoveryUrl: `${base}/.well-known/openid-configuration`,
    jwksUrl: `${base}${GITHUB_JWKS_PATH}`,
    adminUrl: `${base}/admin`,
    idTokensIssued: 0,
    job: handleOf,
    addJob,
    async mintIdToken(name: string, audience?: string) {
      const handle = handleOf(name);
      if (!handle.requestToken)
        throw new Error(`startGitHubActionsOidc: GitHub issues job ${name} no ID token`);
      return mint(handle.job, audience);
    },
    close: () => server.close(),
  });
  // A getter, not a copied value: Object.assign would freeze the count at 0.
  return Object.defineProperty(started, 'idTokensIssued', { get: () => idTokensIssued });
}
