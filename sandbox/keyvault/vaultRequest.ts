// One data-plane request, top to bottom: token (401 + challenge) → api-version → route → injected fault →
// access policy (403) → body → operation; every answer carries Key Vault's response headers and is logged.
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { BearerVerifier, VaultCaller } from './bearerToken.js';
import type { ResolvedKeyVaultOptions, SecretPermission } from './options.js';
import type { RequestLog } from './requestLog.js';
import type { SecretStore } from './secretStore.js';
import { type OperationResult, runOperation } from './secretsApi.js';
import {
  badParameter,
  forbidden,
  injectedFault,
  unsupportedApiVersion,
  type VaultRefusal,
} from './vaultErrors.js';
import type { VaultFaults } from './vaultFaults.js';
import { REQUIRED_PERMISSION, resolveOperation } from './vaultOperations.js';

export interface VaultRequestDeps {
  options: ResolvedKeyVaultOptions;
  verify: BearerVerifier;
  store: SecretStore;
  faults: VaultFaults;
  log: RequestLog;
}

/** Answers one request to the vault (everything but `/admin`). */
export async function handleVaultRequest(c: Context, deps: VaultRequestDeps): Promise<Response> {
  const { options } = deps;
  const url = new URL(c.req.url);
  const authorization = c.req.header('authorization');
  let operation = 'unauthenticated';
  let secretName: string | undefined;
  let caller: VaultCaller | undefined;
  let faultId: string | undefined;

  const answer = (result: OperationResult | VaultRefusal): Response => {
    const code = 'body' in result && isErrorBody(result.body) ? result.body.error.code : undefined;
    deps.log.record({
      at: new Date(options.clock.now()).toISOString(),
      method: c.req.method,
      operation,
      secretName,
      status: result.status,
      code,
      hadAuthorization: authorization !== undefined,
      callerObjectId: caller?.objectId,
      faultId,
    });
    return respond(c, options, result);
  };

  // Authentication comes first: Key Vault challenges even a request to a path it would refuse (recording
  // "cannot create a secret with an empty name": 401, then 405 once authenticated).
  const bearer = await deps.verify(authorization);
  if (!bearer.ok) return answer(bearer.refusal);
  caller = bearer.caller;

  operation = 'unrouted';
  const apiVersion = url.searchParams.get('api-version');
  const latest = options.apiVersions.at(-1) ?? '';
  if (apiVersion === null) return answer(badParameter("The 'api-version' query parameter is required."));
  if (!options.apiVersions.includes(apiVersion)) return answer(unsupportedApiVersion(apiVersion, latest));

  const routed = resolveOperation(c.req.method, url.pathname);
  if (!routed.ok) return answer(routed.refusal);
  const { route } = routed;
  operation = route.operation;
  secretName = route.name || undefined;

  const fault = deps.faults.take(route.operation);
  if (fault) {
    faultId = fault.id;
    const refusal = injectedFault(fault.status, fault.code, fault.message);
    return answer({
      ...refusal,
      ...(fault.retryAfterSeconds !== undefined ? { retryAfterSeconds: fault.retryAfterSeconds } : {}),
    });
  }

  // Authorisation before existence: a caller without the permission learns nothing about the secret.
  const permission = REQUIRED_PERMISSION[route.operation];
  if (!holdsPermission(options, caller, permission)) return answer(forbidden(caller, permission, options));

  let body: unknown;
  if (route.operation === 'setSecret' || route.operation === 'updateSecret') {
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      return answer(badParameter('The request body is not valid JSON.'));
    }
  }
  const recovery = { recoveryLevel: options.recoveryLevel, recoverableDays: options.recoverableDays };
  return answer(
    runOperation(deps.store, recovery, route, {
      vaultUrl: url.origin,
      path: url.pathname,
      apiVersion,
      maxresults: url.searchParams.get('maxresults') ?? undefined,
      skiptoken: url.searchParams.get('$skiptoken') ?? undefined,
      body,
    }),
  );
}

/** Union of the access-policy entries for the caller's object id and application id. */
function holdsPermission(
  options: ResolvedKeyVaultOptions,
  caller: VaultCaller,
  permission: SecretPermission,
): boolean {
  return [caller.objectId, caller.appId].some((identity) =>
    options.accessPolicies.get(identity.toLowerCase())?.has(permission),
  );
}

// Key Vault's response headers (recorded responses): no caching, a request id, the caller's client request
// id echoed, the region; `WWW-Authenticate` on every 401 and `Retry-After` only when a fault sets one.
function respond(
  c: Context,
  options: ResolvedKeyVaultOptions,
  result: OperationResult | VaultRefusal,
): Response {
  const headers = new Headers({
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-cache',
    pragma: 'no-cache',
    expires: '-1',
    'x-ms-request-id': randomUUID(),
    'x-ms-keyvault-region': options.location,
    'strict-transport-security': 'max-age=31536000;includeSubDomains',
    'x-content-type-options': 'nosniff',
  });
  const clientRequestId = c.req.header('x-ms-client-request-id');
  if (clientRequestId) headers.set('x-ms-client-request-id', clientRequestId);
  if ('challenge' in result && result.challenge) headers.set('www-authenticate', options.challengeHeader);
  if ('retryAfterSeconds' in result && result.retryAfterSeconds !== undefined) {
    headers.set('retry-after', String(result.retryAfterSeconds));
  }
  return new Response(JSON.stringify(result.body), { status: result.status, headers });
}

function isErrorBody(body: unknown): body is { error: { code: string } } {
  return typeof body === 'object' && body !== null && 'error' in body;
}
