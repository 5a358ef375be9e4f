// The three Cognito Identity operations the broker uses (protocols.md §C.2), on parsed and validated input:
// GetId, GetOpenIdToken (unsigned) and GetOpenIdTokenForDeveloperIdentity (its caller already verified).

import {
  amrOf,
  COGNITO_LOGIN,
  type CognitoIdentity,
  type CognitoPoolSeed,
  type CognitoPools,
} from './cognitoPools.js';
import type { CognitoSigner } from './cognitoToken.js';
import { CognitoError, type OperationInput } from './cognitoWire.js';
import type { AwsPrincipalSeed } from './model.js';

/** What every operation reads: the pools, the signer, the clock (epoch milliseconds). */
export interface OperationContext {
  region: string;
  pools: CognitoPools;
  signer: CognitoSigner;
  now(): number;
}

/** GetOpenIdToken's tokens last 10 minutes (API reference: "An OpenID token, valid for 10 minutes"). */
const OPEN_ID_TOKEN_SECONDS = 600;
/** GetOpenIdTokenForDeveloperIdentity's default: "the token is valid for 15 minutes" (API reference). */
const DEVELOPER_TOKEN_SECONDS = 900;

const notAuthorized = (message: string) => new CognitoError('NotAuthorizedException', message);
// Observed messages: aws-sdk-js-v3#3113, amazon-cognito-identity-js#68, cognito-sample-nodejs#1, amplify-android#1135.
const NO_GUESTS = 'Unauthenticated access is not supported for this identity pool.';
const LOGINS_DO_NOT_MATCH =
  "Logins don't match. Please include at least one valid login for this identity or identity pool.";
const UNSUPPORTED_PROVIDER = 'Token is not from a supported provider of this identity pool.';
const COGNITO_TOKEN_IN_GET_ID = "Invalid login token. Can't pass in a Cognito token.";
// Observed text (LambdAuth#32); that it is a NotAuthorizedException is UNCONFIRMED.
const UNSUPPORTED_DEVELOPER = 'This identity pool does not support the specified developer provider.';

const loginsOf = (input: OperationInput): Record<string, string> =>
  (input.Logins as Record<string, string> | undefined) ?? {};

/** Verifies a public provider's token with the pool's verifier and returns the user id. */
async function verifyPublicLogin(pool: CognitoPoolSeed, provider: string, token: string): Promise<string> {
  const seed = Object.hasOwn(pool.loginProviders ?? {}, provider)
    ? pool.loginProviders?.[provider]
    : undefined;
  if (!seed) throw notAuthorized(UNSUPPORTED_PROVIDER);
  const user = await seed.verify(token);
  // "Invalid login token." starts every observed refusal of a provider token; the rest varies (UNCONFIRMED).
  if (user === undefined) throw notAuthorized('Invalid login token. The provider token was refused.');
  return user;
}

/** GetId: a new guest identity, or the identity the logins are linked to (created and linked if none). */
export async function getId(ctx: OperationContext, input: OperationInput): Promise<{ IdentityId: string }> {
  const pool = ctx.pools.pool(input.IdentityPoolId as string);
  const logins = Object.entries(loginsOf(input));
  if (logins.length === 0) {
    if (!pool.allowUnauthenticatedIdentities) throw notAuthorized(NO_GUESTS);
    return { IdentityId: ctx.pools.create(pool.id).id };
  }
  const verified: [string, string][] = [];
  for (const [provider, token] of logins) {
    if (provider === COGNITO_LOGIN) throw notAuthorized(COGNITO_TOKEN_IN_GET_ID);
    verified.push([provider, await verifyPublicLogin(pool, provider, token)]);
  }
  const linked = verified.map(([provider, user]) => ctx.pools.findByLogin(pool.id, provider, user));
  const identity = linked.find((found) => found !== undefined) ?? ctx.pools.create(pool.id);
  for (const [provider, user] of verified) ctx.pools.link(identity.id, provider, user);
  return { IdentityId: identity.id };
}

/**
 * GetOpenIdToken: a 10-minute token. A guest needs no logins (and a pool that still allows guests); an
 * identity with linked logins needs one of them: a provider token, or `cognito-identity.amazonaws.com` with
 * a token this service issued for it. Valid provider logins not yet linked are linked (a guest upgrades).
 */
export async function getOpenIdToken(
  ctx: OperationContext,
  input: OperationInput,
): Promise<{ IdentityId: string; Token: string }> {
  const identity = ctx.pools.identity(input.IdentityId as string);
  const pool = ctx.pools.pool(identity.poolId);
  let matched: string | undefined;
  for (const [provider, token] of Object.entries(loginsOf(input))) {
    if (provider === COGNITO_LOGIN) {
      const claims = await ctx.signer.verifyOwn(token, ctx.now());
      if (claims?.sub !== identity.id || claims.aud !== pool.id) throw notAuthorized('Invalid login token.');
      const developer = pool.developerProviderName;
      matched ??=
        developer && identity.logins.has(developer) ? developer : identity.logins.keys().next().value;
      continue;
    }
    const user = await verifyPublicLogin(pool, provider, token);
    ctx.pools.link(identity.id, provider, user);
    matched ??= provider;
  }
  if (matched === undefined && identity.logins.size > 0) throw notAuthorized(LOGINS_DO_NOT_MATCH);
  if (identity.logins.size === 0 && !pool.allowUnauthenticatedIdentities) throw notAuthorized(NO_GUESTS);
  return { IdentityId: identity.id, Token: mint(ctx, pool, identity, matched, OPEN_ID_TOKEN_SECONDS) };
}

/**
 * GetOpenIdTokenForDeveloperIdentity for a caller whose signature is verified: the caller must belong to
 * the pool's account (a NotAuthorizedException otherwise; the real refusal is UNCONFIRMED), `Logins` must
 * hold exactly the pool's developer provider, and one developer user id always maps to one identity.
 */
export async function getOpenIdTokenForDeveloperIdentity(
  ctx: OperationContext,
  input: OperationInput,
  caller: AwsPrincipalSeed,
): Promise<{ IdentityId: string; Token: string }> {
  const pool = ctx.pools.pool(input.IdentityPoolId as string);
  if (caller.account !== pool.account) {
    throw notAuthorized(`Access to Identity Pool '${pool.id}' is forbidden.`);
  }
  const logins = loginsOf(input);
  const provider = pool.developerProviderName;
  if (Object.keys(logins).length === 0) {
    throw new CognitoError('InvalidParameterException', 'Logins must name the developer provider.');
  }
  if (provider === undefined || !Object.hasOwn(logins, provider)) throw notAuthorized(UNSUPPORTED_DEVELOPER);
  if (Object.keys(logins).length > 1) {
    // The real service links other logins given here; the stand-in cannot verify them, so it refuses.
    throw new CognitoError(
      'InvalidParameterException',
      'Only the developer provider login is supported here.',
    );
  }
  const user = logins[provider] as string;
  if (user.length > 1024) {
    // DeveloperUserIdentifier is 1-1024 characters in the model; the refusal's type here is UNCONFIRMED.
    throw new CognitoError(
      'InvalidParameterException',
      'The developer user identifier exceeds 1024 characters.',
    );
  }
  const existing = ctx.pools.findByLogin(pool.id, provider, user);
  let identity: CognitoIdentity;
  if (input.IdentityId !== undefined) {
    identity = ctx.pools.identity(input.IdentityId as string);
    if (identity.poolId !== pool.id) {
      throw new CognitoError('ResourceNotFoundException', `Identity '${identity.id}' not found.`);
    }
    if (existing && existing.id !== identity.id) {
      throw new CognitoError(
        'DeveloperUserAlreadyRegisteredException',
        'The developer user identifier is already registered with a different identity ID.',
      );
    }
    if (!existing && identity.logins.size > 0) throw notAuthorized(LOGINS_DO_NOT_MATCH);
  } else {
    identity = existing ?? ctx.pools.create(pool.id);
  }
  ctx.pools.link(identity.id, provider, user);
  const lifetime = (input.TokenDuration as number | undefined) ?? DEVELOPER_TOKEN_SECONDS;
  const tags = input.PrincipalTags as Record<string, string> | undefined;
  return { IdentityId: identity.id, Token: mint(ctx, pool, identity, provider, lifetime, tags) };
}

function mint(
  ctx: OperationContext,
  pool: CognitoPoolSeed,
  identity: CognitoIdentity,
  provider: string | undefined,
  lifetimeSeconds: number,
  principalTags?: Record<string, string>,
): string {
  return ctx.signer.mint(
    {
      identityId: identity.id,
      poolId: pool.id,
      account: pool.account,
      region: ctx.region,
      amr: amrOf(pool, identity, provider),
      lifetimeSeconds,
      ...(principalTags ? { principalTags } : {}),
    },
    ctx.now(),
  );
}
