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

/**
 * Describes why Entra refused, for an admitted caller (issue 7): the target's name, the AADSTS code and
 * what is wrong, so the workload's owner knows whom to ask. The identifiers that fix it (the broker's
 * issuer and subject, the target's tenant and client id) are the operator's and go to the audit line.
 */
function describeRefusal(error: EntraError, c: ExchangeContext): string {
  const aadsts = error.aadsts;
  const code = aadsts === undefined ? '' : ` (AADSTS${aadsts})`;
  const refused = `Entra refused the broker's federated credential for target ${c.target}${code}`;
  const operator = "the broker's operator finds the identifiers in the audit log";
  if (aadsts === 7002138) {
    return `${refused}: a federated credential on the target's application matches the broker's identity only when case is ignored, and Entra compares case-sensitively; ${operator}.`;
  }
  if (aadsts !== undefined && FIC_MISMATCH.has(aadsts)) {
    return `${refused}: no federated credential on the target's application matches the broker's identity and audience '${c.audience}'; ${operator}.`;
  }
  if (aadsts !== undefined && ASSERTION_TIME.has(aadsts)) {
    return `${refused}: the broker's own platform token is outside its valid time range or lifetime; check the broker host's clock.`;
  }
  if (aadsts !== undefined && ISSUER_UNREACHABLE.has(aadsts)) {
    return `${refused}: Entra could not fetch the OIDC discovery document or signing keys of the broker's issuer.`;
  }
  if (aadsts === 700016)
    return `${refused}: the target's application or managed identity does not exist in its tenant; ${operator}.`;
  if (aadsts === 90002) return `${refused}: the target's tenant does not exist; ${operator}.`;
  if (aadsts !== undefined && SCOPE.has(aadsts))
    return `${refused}: Entra does not accept the scope ${c.scope}.`;
  return `${refused}; ${operator}.`;
}

/** Turns anything the source/Entra step threw into a BrokerError; unknown errors pass through. */
export function mapUpstreamError(error: unknown, context: ExchangeContext): unknown {
  if (error instanceof EntraError) {
    const identity = error.assertionIdentity;
    const detail = {
      reason: `entra_${error.kind}`,
      tenant: context.tenant,
      clientId: context.clientId,
      ...(identity ? { assertionIssuer: identity.issuer, assertionSubject: identity.subject } : {}),
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
      {
        cause: error,
        detail: { reason: 'source_unavailable', sourceProblem: error.reason },
        retryAfterSeconds: 5,
      },
    );
  }
  return error;
}
