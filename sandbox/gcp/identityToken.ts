// The identity endpoint's query and the Google-signed ID token it answers (protocols.md §B.1, §B.2).
import { randomBytes } from 'node:crypto';
import { type GcpVm, GOOGLE_ISSUER, type VmServiceAccount } from './model.js';
import { MISSING_AUDIENCE_TEXT } from './wire.js';

/** `standard` leaves instance details out; `full` adds `google.compute_engine`. */
export type IdentityTokenFormat = 'standard' | 'full';

/** A parsed `.../identity` query. */
export interface IdentityTokenRequest {
  audience: string;
  format: IdentityTokenFormat;
  /** `licenses=TRUE`; only changes a `full` token (it adds `license_id`). */
  licenses: boolean;
}

/** Why a query was refused: the 400 body to send. */
export interface IdentityQueryError {
  error: string;
}

/**
 * Parses `audience`, `format` and `licenses`. A missing or empty audience is the documented 400. A
 * `format` other than standard/full, or `licenses` other than TRUE/FALSE (any case), is also refused
 * with 400 rather than ignored: the real server's answer to them is not known. [UNCONFIRMED]
 */
export function parseIdentityQuery(query: URLSearchParams): IdentityTokenRequest | IdentityQueryError {
  const audience = query.get('audience');
  if (audience === null || audience === '') return { error: MISSING_AUDIENCE_TEXT };
  const format = query.get('format') ?? 'standard';
  if (format !== 'standard' && format !== 'full') {
    return { error: 'format must be one of standard, full' };
  }
  const licenses = (query.get('licenses') ?? 'FALSE').toUpperCase();
  if (licenses !== 'TRUE' && licenses !== 'FALSE') return { error: 'licenses must be TRUE or FALSE' };
  return { audience, format, licenses: licenses === 'TRUE' };
}

/**
 * The token's claims, in the order Google's tokens show them (protocols.md §B.2): `sub` and `azp` are the
 * account's unique ID, `exp` is `iat` plus the VM's token lifetime. `instance_confidentiality`, present in
 * newer real tokens, is not modelled.
 */
export function identityClaims(
  vm: GcpVm,
  account: VmServiceAccount,
  request: IdentityTokenRequest,
  nowMs: number,
): Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000);
  const claims: Record<string, unknown> = {
    aud: request.audience,
    azp: account.uniqueId,
    email: account.email,
    email_verified: true,
    exp: iat + vm.tokenLifetimeSeconds,
  };
  if (request.format === 'full') {
    claims.google = {
      compute_engine: {
        instance_creation_timestamp: vm.instance.creationTimestampSeconds,
        instance_id: vm.instance.id,
        instance_name: vm.instance.name,
        project_id: vm.projectId,
        project_number: vm.projectNumber,
        zone: vm.instance.zone,
        ...(request.licenses ? { license_id: [...vm.instance.licenseIds] } : {}),
      },
    };
  }
  claims.iat = iat;
  claims.iss = GOOGLE_ISSUER;
  claims.sub = account.uniqueId;
  return claims;
}

/**
 * Signs a fresh ID token with the Google issuer's active key: header `alg: RS256`, `kid`, `typ: JWT`.
 * Google documents "a unique token each time an instance requests it", but its documented claims carry
 * nothing that varies within one second and RS256 is deterministic. So the stand-in adds a random
 * `sandbox_nonce` to the JOSE header, not the payload: the claims stay exactly Google's, and no broker
 * code can come to rely on a `jti` that real tokens do not have. [UNCONFIRMED how Google makes them unique]
 */
export async function mintIdentityToken(
  vm: GcpVm,
  account: VmServiceAccount,
  request: IdentityTokenRequest,
): Promise<string> {
  const claims = identityClaims(vm, account, request, vm.clock.now());
  return vm.issuer.sign(claims, { header: { sandbox_nonce: randomBytes(12).toString('base64url') } });
}
