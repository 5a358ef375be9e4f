// Bearer authentication of the stand-in's management APIs (Graph, ARM): only tokens the stand-in issued.
import type { Context } from 'hono';
import { compactVerify, createLocalJWKSet } from 'jose';
import { claimsObject, textClaim } from '../lib/jwsClaims.js';
import { v1Issuer, v2Issuer } from './discovery.js';
import type { DirectoryReader } from './model.js';
import type { Clock } from './options.js';
import type { EntraKeySet } from './signingKeys.js';

/** `required` (the default everywhere): every request needs a valid bearer token; `disabled`: no check. */
export type ManagementAuthentication = 'required' | 'disabled';

/** Options of `graphRoutes` and `armRoutes`. */
export interface ManagementRouteOptions {
  /**
   * Default `required`. `disabled` exists only so that unit tests of the APIs' validation rules need no
   * token endpoint; nothing a real peer does corresponds to it.
   */
  authentication?: ManagementAuthentication;
  /** The stand-in's signing keys, which tokens must verify against; needed when authentication is required. */
  keys?: EntraKeySet;
  /** Time source for `exp`/`nbf`; `Date.now` unless told (the stand-in passes its token policy's clock). */
  clock?: Clock;
}

/** App id of Microsoft Graph (the `aud` of a token requested by app id). */
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
/** App id of Azure Resource Manager ("Windows Azure Service Management API"). */
export const ARM_APP_ID = '797f4846-ba00-4fd7-ba43-dac1f8f63013';

/**
 * `aud` values Graph accepts: its identifier URI (a v1 token carries the identifier as requested, so with
 * or without the trailing slash) and its app id. Compared exactly.
 */
export const GRAPH_AUDIENCES: readonly string[] = [
  'https://graph.microsoft.com',
  'https://graph.microsoft.com/',
  GRAPH_APP_ID,
];

/**
 * `aud` values ARM accepts: the four its InvalidAuthenticationTokenAudience message lists (observed,
 * JetBrains/azure-tools-for-intellij#16), in that order, plus its app id (the stand-in's choice: a token
 * requested by app id carries it; UNCONFIRMED that ARM accepts it). Compared exactly.
 */
export const ARM_AUDIENCES: readonly string[] = [
  'https://management.core.windows.net/',
  'https://management.core.windows.net',
  'https://management.azure.com/',
  'https://management.azure.com',
  ARM_APP_ID,
];

/** Graph app roles that allow writing (POST/PATCH/DELETE) applications and their FICs. */
export const GRAPH_WRITE_ROLES: readonly string[] = [
  'Application.ReadWrite.All',
  'Application.ReadWrite.OwnedBy',
];
/** Graph app roles that allow reading them. */
export const GRAPH_READ_ROLES: readonly string[] = [...GRAPH_WRITE_ROLES, 'Application.Read.All'];

/** Who called, as the verified token says. */
export interface ManagementPrincipal {
  /** `tid`: the tenant the token was issued in. */
  tenantId: string;
  /** `iss` as issued (v1 `https://sts.windows.net/{tid}/` or v2). */
  issuer: string;
  /** `oid`: the caller's service principal or managed identity principal id. */
  objectId: string;
  /** `appid` (v1) or `azp` (v2). */
  clientId: string;
  /** `roles`, empty when the token has none. */
  roles: readonly string[];
}

/** Why a request was not authenticated; each API turns it into its own error body. */
export type ManagementAuthFailure =
  /** No Authorization header, or an empty one. */
  | { reason: 'missing' }
  /** A header that is not `Bearer <token>`. */
  | { reason: 'not_bearer' }
  /** A token with no `.` at all (not a compact JWS). */
  | { reason: 'no_dots' }
  /** Not a JWS, not signed by the stand-in's keys, or issuer/tenant/required claims wrong. */
  | { reason: 'invalid' }
  /** `exp` passed; both times are epoch seconds. */
  | { reason: 'expired'; expiresAt: number; now: number }
  /** `nbf` not reached yet. */
  | { reason: 'not_yet_valid' }
  /** Signed and current, but issued for another resource. */
  | { reason: 'audience'; audience: string };

/** Outcome of authenticating one request. */
export type ManagementAuthResult =
  | { ok: true; principal: ManagementPrincipal }
  | { ok: false; failure: ManagementAuthFailure };

/** Authenticates the request in a Hono context. */
export type ManagementAuthenticator = (c: Context) => Promise<ManagementAuthResult>;

const BEARER = /^bearer +([^\s]+) *$/i;

/**
 * Builds the authenticator for one API, or returns undefined when authentication is `disabled`. Throws
 * when authentication is required but no keys were given, or when the mode is not one of the two: an
 * API of the stand-in never starts open by mistake.
 */
export function createManagementAuthenticator(
  api: 'graph' | 'arm',
  directory: DirectoryReader,
  options: ManagementRouteOptions,
): ManagementAuthenticator | undefined {
  const mode = options.authentication ?? 'required';
  if (mode === 'disabled') return undefined;
  if (mode !== 'required') {
    throw new Error(`entra stand-in: ${api} authentication must be 'required' or 'disabled'`);
  }
  const keys = options.keys;
  if (!keys) {
    throw new Error(`entra stand-in: ${api} authentication 'required' needs the stand-in's signing keys`);
  }
  const clock = options.clock ?? { now: () => Date.now() };
  const audiences = api === 'graph' ? GRAPH_AUDIENCES : ARM_AUDIENCES;
  return (c) => authenticateHeader(c.req.header('authorization'), { keys, clock, directory, audiences });
}

/** What a token is checked against. */
export interface TokenCheckContext {
  keys: EntraKeySet;
  clock: Clock;
  directory: DirectoryReader;
  /** Accepted `aud` values, compared exactly. */
  audiences: readonly string[];
}

/**
 * Checks an Authorization header value, in this order: present and non-empty → `Bearer <token>` → the
 * token has dots → signature by one of the stand-in's published keys (RS256) → JSON claims with `tid` a
 * tenant of the directory, `iss` the v1 or v2 issuer of that tenant, `oid`, numeric `exp` → not expired
 * (`now ≥ exp`, no clock skew) and `nbf` reached → `aud` one of the accepted values. The signature comes
 * first so that a forged token learns nothing about its claims. Never puts the token into a result.
 */
export async function authenticateHeader(
  header: string | undefined,
  context: TokenCheckContext,
): Promise<ManagementAuthResult> {
  const fail = (failure: ManagementAuthFailure): ManagementAuthResult => ({ ok: false, failure });
  if (header === undefined || header.trim() === '') return fail({ reason: 'missing' });
  const token = BEARER.exec(header.trim())?.[1];
  if (token === undefined) return fail({ reason: 'not_bearer' });
  if (!token.includes('.')) return fail({ reason: 'no_dots' });

  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(token, createLocalJWKSet(context.keys.verificationKeys()), {
      algorithms: ['RS256'],
    }));
  } catch {
    return fail({ reason: 'invalid' });
  }
  const claims = parseClaims(payload);
  if (!claims) return fail({ reason: 'invalid' });
  const tenant = context.directory.findTenant(claims.tid);
  if (tenant?.id !== claims.tid) return fail({ reason: 'invalid' });
  if (claims.iss !== v1Issuer(tenant.id) && claims.iss !== v2Issuer(tenant.id))
    return fail({ reason: 'invalid' });

  const now = Math.floor(context.clock.now() / 1000);
  if (now >= claims.exp) return fail({ reason: 'expired', expiresAt: claims.exp, now });
  if (claims.nbf !== undefined && now < claims.nbf) return fail({ reason: 'not_yet_valid' });
  if (!context.audiences.includes(claims.aud)) return fail({ reason: 'audience', audience: claims.aud });
  return {
    ok: true,
    principal: {
      tenantId: tenant.id,
      issuer: claims.iss,
      objectId: claims.oid,
      clientId: claims.appid ?? claims.azp ?? '',
      roles: claims.roles,
    },
  };
}

/** True when the token's roles allow this Graph method: reads (GET, HEAD) or writes (everything else). */
export function graphRolesAllow(method: string, roles: readonly string[]): boolean {
  const needed = method === 'GET' || method === 'HEAD' ? GRAPH_READ_ROLES : GRAPH_WRITE_ROLES;
  return roles.some((role) => needed.includes(role));
}

interface AccessTokenClaims {
  tid: string;
  iss: string;
  oid: string;
  aud: string;
  exp: number;
  nbf: number | undefined;
  appid: string | undefined;
  azp: string | undefined;
  roles: string[];
}

function parseClaims(payload: Uint8Array): AccessTokenClaims | undefined {
  const json = claimsObject(payload);
  if (!json) return undefined;
  const text = (name: string) => textClaim(json, name);
  const { tid, iss, oid, aud } = { tid: text('tid'), iss: text('iss'), oid: text('oid'), aud: text('aud') };
  const exp = json.exp;
  const nbf = json.nbf;
  if (tid === undefined || iss === undefined || oid === undefined || aud === undefined) return undefined;
  if (typeof exp !== 'number' || (nbf !== undefined && typeof nbf !== 'number')) return undefined;
  const roles = Array.isArray(json.roles) ? json.roles.filter((r): r is string => typeof r === 'string') : [];
  return { tid, iss, oid, aud, exp, nbf, appid: text('appid'), azp: text('azp'), roles };
}
