// Maps a failed exchange (Entra refusal, Entra or source outage, paused key) to the contract's error:
// a clear public description that names no secret and carries no upstream body; the AADSTS code goes
// to the audit detail only (style.md, Errors).
import { BrokerError } from '../errors.js';
import { SourceError } from '../sources/tokenSource.js';
import { EntraError } from './entraClient.js';
import { ShortLivedTokenError, TokenCacheBlockedError } from './tokenCache.js';

export interface ExchangeContext {
  target: string;
  tenant: string;
  clientId: string;
  scope: string;
  audience: string;
}

const FIC_MISMATCH = new Set([70021, 700211, 700212, 700213, 7002137]);
const ASSERTION_TIME = new Set([70023, 700024]);
const ISSUER_UNREACHABLE = new Set([90061, 50166, 501661]);
const SCOPE = new Set([70011, 700022, 1002012, 500011]);

/** Describes why Entra refused, in the operator's terms. */
function describeRefusal(error: EntraError, c: ExchangeContext): string {
  const aadsts = error.aadsts;
  const identity = error.assertionIdentity;
  const who = identity ? `issuer '${identity.issuer}', subject '${identity.subject}'` : 'the broker identity';
  const prefix = `Entra refused the federated assertion for target ${c.target}`;
  if (aadsts === 7002138) {
    return `${prefix}: a federated credential on client ${c.clientId} matches ${who} only when case is ignored; Entra compares case-sensitively.`;
  }
  if (aadsts !== undefined && FIC_MISMATCH.has(aadsts)) {
    return `${prefix}: no federated credential on client ${c.clientId} matches ${who} and audience '${c.audience}'.`;
  }
  if (aadsts !== undefined && ASSERTION_TIME.has(aadsts)) {
    return `${prefix}: the broker's own platform token is outside its valid time range or lifetime; check the broker host's clock.`;
  }
  if (aadsts !== undefined && ISSUER_UNREACHABLE.has(aadsts)) {
    return `Entra could not fetch the OIDC discovery document or signing keys of the broker's issuer for target ${c.target}.`;
  }
  if (aadsts === 700016)
    return `Entra has no application or managed identity ${c.clientId} in tenant ${c.tenant} (target ${c.target}).`;
  if (aadsts === 90002) return `Entra has no tenant ${c.tenant} (target ${c.target}).`;
  if (aadsts !== undefined && SCOPE.has(aadsts))
    return `Entra refused the scope ${c.scope} configured for target ${c.target}.`;
  return `Entra refused the token request for target ${c.target}.`;
}

/** Turns anything the source/Entra step threw into a BrokerError; unknown errors pass through. */
export function mapUpstreamError(error: unknown, context: ExchangeContext): unknown {
  if (error instanceof EntraError) {
    const detail = {
      reason: `entra_${error.kind}`,
      ...(error.aadsts === undefined ? {} : { aadsts: error.aadsts }),
      ...(error.status === undefined ? {} : { upstreamStatus: error.status }),
    };
    if (error.kind === 'refused') {
      return new BrokerError('temporarily_unavailable', 502, describeRefusal(error, context), {
        cause: error,
        detail,
      });
    }
    const why = error.kind === 'throttled' ? 'is throttling token requests' : 'is unavailable';
    return new BrokerError(
      'temporarily_unavailable',
      503,
      `Entra ${why} for target ${context.target}; retry later.`,
      {
        cause: error,
        detail,
        retryAfterSeconds: error.retryAfterSeconds ?? 5,
      },
    );
  }
  if (error instanceof TokenCacheBlockedError) {
    // The key is paused after a failure: answer as that failure did, with the time left to wait.
    const last = mapUpstreamError(error.lastError, context);
    if (!(last instanceof BrokerError)) return last;
    return new BrokerError(last.code, last.status, last.description, {
      cause: error,
      detail: { ...last.detail, paused: true },
      ...(last.status === 503 ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
    });
  }
  if (error instanceof ShortLivedTokenError) {
    return new BrokerError(
      'temporarily_unavailable',
      502,
      `Entra issued a token for target ${context.target} that expires within ${error.remainingSeconds} seconds; check Entra's token lifetime policy.`,
      { cause: error, detail: { reason: 'entra_token_short_lived' } },
    );
  }
  if (error instanceof SourceError) {
    return new BrokerError(
      'temporarily_unavailable',
      503,
      `The broker could not obtain its own platform token from ${error.source} for target ${context.target}; retry later.`,
      { cause: error, detail: { reason: 'source_unavailable' }, retryAfterSeconds: 5 },
    );
  }
  return error;
}
