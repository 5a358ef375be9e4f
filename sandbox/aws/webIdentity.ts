// AWS outbound identity federation (protocols.md §C.5, issue 8): one issuer per enabled account,
// `https://<id>.tokens.sts.global.api.aws`, with its discovery document and JWKS in AWS's observed shapes,
// and the JWTs GetWebIdentityToken mints. Keys come from sandbox/lib/oidcIssuer.ts and never leave memory.
import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import { createOidcIssuer, type OidcIssuer } from '../lib/oidcIssuer.js';
import {
  type AwsAccountSeed,
  type AwsDirectory,
  type AwsPrincipalSeed,
  callerArn,
  roleArn,
} from './model.js';
import type { WebIdentitySigningAlgorithm, WebIdentityTokenRequest } from './webIdentityRequest.js';

/** The claim under which STS nests every AWS-specific claim (id_roles_providers_outbound_token_claims). */
export const AWS_CLAIMS_KEY = 'https://sts.amazonaws.com/';
/** Path of the JWKS below the issuer (API_EnableOutboundWebIdentityFederation). */
export const WEB_IDENTITY_JWKS_PATH = '/.well-known/jwks.json';
/** Path prefix under which the stand-in serves each account's issuer: `/web-identity/<issuerId>`. */
export const WEB_IDENTITY_PATH_PREFIX = '/web-identity';

// Key ids as a real issuer's JWKS shows them (Forgejo's test fixture `awsJWKS`, "extracted from a AWS
// Federated Web Identity endpoint"): one RSA key without `alg`, one P-384 key with `alg: ES384`.
const KIDS: Readonly<Record<WebIdentitySigningAlgorithm, string>> = { RS256: 'RSA_0', ES384: 'EC384_0' };

/** One account's issuer, before it is served. */
export interface AccountIssuer {
  accountId: string;
  issuerId: string;
  /** `https://<issuerId>.tokens.sts.global.api.aws`: the `iss` of its tokens and of its discovery document. */
  issuer: string;
  oidc: OidcIssuer;
}

// The discovery document of a real issuer has exactly these members (Forgejo fixture `awsOIDC`); the
// generic issuer's extra members are dropped (undefined is not serialised).
const discoveryOverrides = {
  claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'jti', AWS_CLAIMS_KEY],
  id_token_signing_alg_values_supported: ['RS256', 'ES384'],
  subject_types_supported: ['public'],
  authorization_endpoint: undefined,
  response_types_supported: undefined,
};

async function createAccountIssuer(account: AwsAccountSeed): Promise<AccountIssuer> {
  const issuerId = account.webIdentityIssuerId ?? randomUUID();
  // The id becomes a DNS label of the issuer's host name (a UUID at AWS).
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(issuerId)) {
    throw new Error(`aws seed: account ${account.id} has a webIdentityIssuerId that is no DNS label`);
  }
  const issuer = `https://${issuerId}.tokens.sts.global.api.aws`;
  const oidc = await createOidcIssuer({ issuer, algorithm: 'RS256', jwksPath: WEB_IDENTITY_JWKS_PATH });
  const generated = oidc.activeKid;
  await oidc.addKey({ alg: 'RS256', kid: KIDS.RS256, activate: true, jwkFields: { alg: null } });
  await oidc.addKey({ alg: 'ES384', kid: KIDS.ES384 });
  // The generic issuer's own first key has a random kid; AWS publishes only the two keys above.
  oidc.unpublishKey(generated);
  oidc.setDiscoveryOverrides(discoveryOverrides);
  return { accountId: account.id, issuerId, issuer, oidc };
}

/**
 * Creates the issuer of every account with `outboundWebIdentityFederation` (an account that has not run
 * `iam:EnableOutboundWebIdentityFederation` has no issuer at all). Throws when two accounts share an issuer
 * id or an id is no DNS label.
 */
export async function createAccountIssuers(directory: AwsDirectory): Promise<Map<string, AccountIssuer>> {
  const enabled = directory.seed.accounts.filter((account) => account.outboundWebIdentityFederation);
  const issuers = await Promise.all(enabled.map(createAccountIssuer));
  const byId = new Set(issuers.map((entry) => entry.issuerId));
  if (byId.size !== issuers.length) throw new Error('aws seed: two accounts share a webIdentityIssuerId');
  return new Map(issuers.map((entry) => [entry.accountId, entry]));
}

/** Serves each issuer's app (discovery, JWKS, the generic issuer's /admin) under `/web-identity/<issuerId>`. */
export function mountAccountIssuers(app: Hono, issuers: Iterable<AccountIssuer>): void {
  for (const entry of issuers) app.route(`${WEB_IDENTITY_PATH_PREFIX}/${entry.issuerId}`, entry.oidc.app);
}

/** Where one account's web identity issuer is served. */
export interface WebIdentityIssuerEndpoint {
  accountId: string;
  /** `https://<id>.tokens.sts.global.api.aws`, the tokens' `iss`; never rewritten. */
  issuer: string;
  /** `<url>/web-identity/<id>`: what a discovery-override map (the Entra stand-in's) maps `issuer` to. */
  baseUrl: string;
  /** `<baseUrl>/.well-known/openid-configuration`. */
  discoveryUrl: string;
  /** `<baseUrl>/.well-known/jwks.json`, the discovery document's `jwks_uri`. */
  jwksUrl: string;
  /** The issuer's keys and its own faults (`fail`), requestCounts and /admin routes. */
  oidcIssuer: OidcIssuer;
}

/** Sets the issuer's base URL on the started server and names its endpoints. */
export function issuerEndpoint(serverUrl: string, entry: AccountIssuer): WebIdentityIssuerEndpoint {
  const baseUrl = `${serverUrl}${WEB_IDENTITY_PATH_PREFIX}/${entry.issuerId}`;
  entry.oidc.setBaseUrl(baseUrl);
  return {
    accountId: entry.accountId,
    issuer: entry.issuer,
    baseUrl,
    discoveryUrl: `${baseUrl}/.well-known/openid-configuration`,
    jwksUrl: `${baseUrl}${WEB_IDENTITY_JWKS_PATH}`,
    oidcIssuer: entry.oidc,
  };
}

export interface MintInput {
  issuer: AccountIssuer;
  account: AwsAccountSeed;
  /** The SigV4-verified caller. */
  principal: AwsPrincipalSeed;
  request: WebIdentityTokenRequest;
  /** The region of the STS endpoint called: the `source_region` claim. */
  region: string;
  /** Now, epoch milliseconds. */
  nowMs: number;
}

/**
 * Signs the token GetWebIdentityToken returns and gives its expiry (epoch seconds). Claims, as documented
 * (id_roles_providers_outbound_token_claims, protocols.md §C.5):
 * - `sub`: the role's own ARN for a role session (not the session ARN), the user's ARN for a user;
 * - `aud`: a string for one audience, as AWS's sample token shows; an array for several, as RFC 7519 §4.1.3
 *   allows (what AWS sends for several is UNCONFIRMED);
 * - `iat`, `exp = iat + DurationSeconds`, `jti` (a random UUID; AWS's format is UNCONFIRMED);
 * - under `https://sts.amazonaws.com/`: `aws_account`, `source_region`, `principal_id` (the caller's ARN, the
 *   role's for a session: the SDK's GetWebIdentityToken docs), `org_id`/`ou_path` when the account is in an
 *   organization, `principal_tags`/`request_tags` only when there are some (leaving empty ones out is
 *   UNCONFIRMED). Session context claims (Lambda, EC2) are not modelled.
 * Header `{alg, kid, typ: "JWT"}` with kid `RSA_0` or `EC384_0`; `typ` is UNCONFIRMED.
 */
export async function mintWebIdentityToken(input: MintInput): Promise<{ token: string; expiresAt: number }> {
  const { issuer, account, principal, request } = input;
  const iat = Math.floor(input.nowMs / 1000);
  const exp = iat + request.durationSeconds;
  const subject = principal.kind === 'role' ? roleArn(principal) : callerArn(principal);
  const principalTags = principal.tags && Object.keys(principal.tags).length > 0 ? principal.tags : undefined;
  const awsClaims: Record<string, unknown> = {
    aws_account: account.id,
    source_region: input.region,
    principal_id: subject,
    ...(account.organization
      ? { org_id: account.organization.id, ou_path: account.organization.ouPath }
      : {}),
    ...(principalTags ? { principal_tags: { ...principalTags } } : {}),
    ...(request.tags.length > 0
      ? { request_tags: Object.fromEntries(request.tags.map((tag) => [tag.key, tag.value])) }
      : {}),
  };
  const claims = {
    iss: issuer.issuer,
    aud: request.audiences.length === 1 ? request.audiences[0] : request.audiences,
    sub: subject,
    iat,
    exp,
    jti: randomUUID(),
    [AWS_CLAIMS_KEY]: awsClaims,
  };
  const token = await issuer.oidc.sign(claims, { kid: KIDS[request.algorithm] });
  return { token, expiresAt: exp };
}
