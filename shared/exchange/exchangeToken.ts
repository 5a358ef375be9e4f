// The token exchange, top to bottom like octo-sts's Exchange: parse → verify caller → policy →
// source assertion → Entra exchange (cached, single-flight) → respond → audit (issue 4).
import { performance } from 'node:perf_hooks';
import type { Span } from '@opentelemetry/api';
import { type AuditRecord, audit, describeCaller, sha256 } from '../audit.js';
import type { CallerVerifier, SignedRequestVerifier, VerifiedCaller } from '../callers/callerVerifier.js';
import { checkSubjectTokenShape } from '../callers/jwtShape.js';
import type { VerifiedTokenCache } from '../callers/verifiedTokenCache.js';
import type { Clock } from '../clock.js';
import { BrokerError, toWireError } from '../errors.js';
import type { LogTarget } from '../log.js';
import type { Policy, PolicyDecision, Target } from '../policy.js';
import type { TokenPublisher } from '../sinks/publisher.js';
import type { TokenSource } from '../sources/tokenSource.js';
import { inSpan, telemetry } from '../telemetry.js';
import type { EntraClient, EntraToken } from './entraClient.js';
import type { RecentTargets } from './refreshTokens.js';
import type { SharedTier } from './sharedTier.js';
import { targetCacheKey, targetToken } from './targetToken.js';
import type { TokenCache } from './tokenCache.js';
import {
  ACCESS_TOKEN_TYPE,
  AWS_TOKEN_TYPE,
  parseTokenRequest,
  type TokenExchangeRequest,
} from './tokenRequest.js';
import { mapUpstreamError } from './upstreamErrors.js';

/** Everything the exchange needs, wired once per process (see shared/broker.ts). */
export interface ExchangeDependencies {
  /** JWT verifiers, chosen by the token's issuer. */
  verifiers: readonly CallerVerifier[];
  /** The `aws-iam` verifier for signed AWS requests; absent when no rule names an AWS IAM caller. */
  signedRequests?: SignedRequestVerifier;
  policy: Policy;
  sources: ReadonlyMap<string, TokenSource>;
  entra: EntraClient;
  cache: TokenCache<EntraToken>;
  /** The shared cache tier in Azure Storage; absent when no storage or no key is configured. */
  shared?: SharedTier;
  /** Writes tokens of targets that declare `publish` to Key Vault; absent when none does. */
  publisher?: TokenPublisher;
  /** Targets and scopes callers used, for the refresh timer; absent in tests that need none. */
  recent?: RecentTargets;
  clock: Clock;
  /** Callers' JWTs verified before, by SHA-256; absent when VERIFIED_TOKEN_CACHE_MAX_ENTRIES is 0. */
  verifiedTokens?: VerifiedTokenCache;
  callerTokenMaxBytes: number;
  /** Audience of the broker's own assertion, for error descriptions. */
  tokenExchangeAudience: string;
}

/** RFC 8693 §2.2.1 success body. */
export interface TokenExchangeResponse {
  access_token: string;
  issued_token_type: typeof ACCESS_TOKEN_TYPE;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** A granted exchange: the RFC 8693 body, and the same body as the JSON text the endpoint sends. */
export interface Grant {
  response: TokenExchangeResponse;
  /** `JSON.stringify(response)`, built from the token's part serialised once per token. */
  json: string;
}

/**
 * Runs one token exchange and writes its audit line. Throws a BrokerError for every refusal; the
 * caller maps it with toWireError.
 */
export function exchangeToken(deps: ExchangeDependencies, body: string, log: LogTarget): Promise<Grant> {
  return inSpan('broker.exchange', {}, (span) => runExchange(deps, body, log, span));
}

async function runExchange(
  deps: ExchangeDependencies,
  body: string,
  log: LogTarget,
  span: Span,
): Promise<Grant> {
  const started = performance.now();
  const record: Partial<AuditRecord> = {};
  try {
    const request = parseTokenRequest(body);
    const subjectTokenSha256 = sha256(request.subjectToken);
    record.subjectTokenSha256 = subjectTokenSha256;
    const caller =
      recalledCaller(deps, request, subjectTokenSha256) ??
      (await verifyCaller(deps, request, subjectTokenSha256));
    record.caller = caller.principal;
    record.target = request.audience;
    const decision = deps.policy.decide(caller.principal, request.audience, request.scope);
    if (!decision.allowed) throw policyRefusal(decision, caller, request.audience);
    record.rule = decision.rule;
    record.scope = decision.scope;
    const { token, from } =
      cachedToken(deps, decision.target, decision.scope) ??
      (await obtainToken(deps, decision.target, decision.scope, log));
    const expiresIn = Math.floor((token.expiresAtMs - deps.clock.now()) / 1000);
    const issued = issuedFacts(token);
    Object.assign(record, {
      tokenSha256: issued.sha256,
      expiresAt: issued.expiresAt,
      // A miss another instance had already filled in the shared tier is 'shared': no Entra call.
      cache: from === 'miss' && token.origin === 'shared' ? 'shared' : from,
    });
    report(log, span, {
      ...record,
      outcome: 'granted',
      status: 200,
      reason: 'rule_matched',
      durationMs: elapsed(started),
    });
    return {
      response: {
        access_token: token.accessToken,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: 'Bearer',
        expires_in: expiresIn,
        scope: decision.scope,
      },
      json: grantJson(issued, expiresIn, decision.scope),
    };
  } catch (error) {
    const { status, body: wire } = toWireError(error);
    const detail = error instanceof BrokerError ? error.detail : {};
    report(log, span, {
      ...record,
      ...upstreamIdentifiers(detail),
      outcome: status >= 500 ? 'failed' : 'refused',
      status,
      reason: String(detail.reason ?? wire.error),
      durationMs: elapsed(started),
    });
    throw error;
  }
}

/**
 * The audit line, the exchange's metrics and its span's attributes, from one record. The span names the
 * target only once the policy admitted the caller: before that it is whatever the caller sent.
 */
function report(log: LogTarget, span: Span, record: AuditRecord): void {
  audit(log, record);
  telemetry.exchange(record.outcome, record.status, record.reason, record.aadsts, record.durationMs ?? 0);
  if (record.cache)
    telemetry.cacheLookup(record.cache === 'hit' ? 'local' : record.cache === 'shared' ? 'shared' : 'entra');
  // Without an OpenTelemetry SDK the span records nothing: its attributes are not even built.
  if (!span.isRecording()) return;
  span.setAttributes({
    'broker.outcome': record.outcome,
    'http.response.status_code': record.status,
    'broker.reason': record.reason,
    ...(record.rule && record.target ? { 'broker.target': record.target } : {}),
    ...(record.cache ? { 'broker.cache': record.cache } : {}),
    ...(record.aadsts === undefined ? {} : { 'broker.aadsts': record.aadsts }),
  });
}

/** What every answer and audit line for one Entra token repeats. */
interface IssuedFacts {
  /** The access token's SHA-256, for the audit line. */
  sha256: string;
  /** Its expiry, ISO 8601, for the audit line. */
  expiresAt: string;
  /** The access token as a JSON string: JSON.stringify scans a kilobyte-long token in about 2 µs. */
  accessTokenJson: string;
  /** The last answer built for this token: the same for every caller until `expires_in` ticks down. */
  lastGrant: { expiresIn: number; scope: string; json: string } | undefined;
}

/**
 * The answer's JSON text, in the order and form JSON.stringify gives the response (a unit test holds them
 * equal). A kilobyte and a half built per request, for a text that changes once a second: the last one
 * built for the token is handed out again while `expires_in` and the scope are what it says.
 */
function grantJson(issued: IssuedFacts, expiresIn: number, scope: string): string {
  const last = issued.lastGrant;
  if (last !== undefined && last.expiresIn === expiresIn && last.scope === scope) return last.json;
  const json = `{"access_token":${issued.accessTokenJson},"issued_token_type":"${ACCESS_TOKEN_TYPE}","token_type":"Bearer","expires_in":${expiresIn},"scope":${JSON.stringify(scope)}}`;
  issued.lastGrant = { expiresIn, scope, json };
  return json;
}

// A cached token is handed out many times; what its answers and audit lines repeat is worked out once.
const issuedFactsByToken = new WeakMap<EntraToken, IssuedFacts>();
function issuedFacts(token: EntraToken): IssuedFacts {
  let facts = issuedFactsByToken.get(token);
  if (facts === undefined) {
    facts = {
      sha256: sha256(token.accessToken),
      expiresAt: new Date(token.expiresAtMs).toISOString(),
      accessTokenJson: JSON.stringify(token.accessToken),
      lastGrant: undefined,
    };
    issuedFactsByToken.set(token, facts);
  }
  return facts;
}

const elapsed = (started: number): number => Math.round((performance.now() - started) * 10) / 10;

/** What a failed exchange tells the operator only (issue 7): the AADSTS code, the identifiers Entra saw, a source's problem. */
function upstreamIdentifiers(detail: BrokerError['detail']): Partial<AuditRecord> {
  const record: Partial<AuditRecord> = {};
  if (typeof detail.aadsts === 'number') record.aadsts = detail.aadsts;
  for (const name of [
    'tenant',
    'clientId',
    'assertionIssuer',
    'assertionSubject',
    'sourceProblem',
  ] as const) {
    const value = detail[name];
    if (typeof value === 'string') record[name] = value;
  }
  return record;
}

/** A JWT seen before whose key the verified-token cache can vouch for without asking: no wait at all. */
const recalledCaller = (
  deps: ExchangeDependencies,
  request: TokenExchangeRequest,
  tokenSha256: string,
): VerifiedCaller | undefined =>
  request.subjectTokenType === AWS_TOKEN_TYPE ? undefined : deps.verifiedTokens?.known(tokenSha256);

/**
 * Picks the verifier: a signed AWS request by its token type, a JWT by its (unverified) issuer from
 * static configuration. Nothing is fetched for an unknown issuer or a path the policy does not use.
 */
async function verifyCaller(
  deps: ExchangeDependencies,
  request: TokenExchangeRequest,
  tokenSha256: string,
): Promise<VerifiedCaller> {
  if (request.subjectTokenType === AWS_TOKEN_TYPE) {
    if (!deps.signedRequests) {
      throw new BrokerError(
        'invalid_request',
        400,
        'This broker admits no AWS IAM callers; its policy names none.',
        {
          detail: { reason: 'caller_kind_unused' },
        },
      );
    }
    return deps.signedRequests.verify(request.subjectToken);
  }
  const token = request.subjectToken;
  // The same JWT again, still valid and its key still the issuer's: no second signature check.
  const known = deps.verifiedTokens && (await deps.verifiedTokens.lookup(tokenSha256));
  if (known) return known;
  const checked = checkSubjectTokenShape(token, { maxBytes: deps.callerTokenMaxBytes });
  const { payload } = checked;
  const issuer = payload.iss;
  const verifier = deps.verifiers.find((candidate) =>
    typeof issuer === 'string'
      ? candidate.issuers.includes(issuer)
      : issuer === undefined && candidate.issuerless?.(payload) === true,
  );
  if (!verifier) {
    throw new BrokerError(
      'invalid_grant',
      401,
      "The subject token's issuer is not accepted by this broker.",
      {
        detail: { reason: 'caller_issuer_unknown' },
      },
    );
  }
  const verified = await verifier.verify(token, checked);
  deps.verifiedTokens?.remember(tokenSha256, verified);
  return verified;
}

/**
 * The contract's answer to a policy refusal. An unknown target and a target no rule admits the caller
 * to get the same answer, so a caller learns nothing about targets it may not use (issue 7); the audit
 * line keeps the difference. Scope refusals come only after a rule admitted the caller.
 */
function policyRefusal(
  decision: Extract<PolicyDecision, { allowed: false }>,
  caller: VerifiedCaller,
  target: string,
): BrokerError {
  const detail = { reason: decision.reason };
  switch (decision.reason) {
    case 'unknown_target':
    case 'no_rule_matches':
      return new BrokerError(
        'access_denied',
        403,
        `The policy does not allow ${describeCaller(caller.principal)} to obtain tokens for target ${target}.`,
        { detail },
      );
    case 'scope_missing':
      return new BrokerError(
        'invalid_scope',
        400,
        `Target ${target} has several scopes; name one of: ${decision.target?.scopes.join(' ')}.`,
        {
          detail,
        },
      );
    case 'scope_not_allowed':
      return new BrokerError(
        'invalid_scope',
        400,
        `The requested scope is not allowed for target ${target}; allowed: ${decision.target?.scopes.join(' ')}.`,
        { detail },
      );
  }
}

/**
 * The cached token for a target and scope when it needs no refresh: most requests, answered without
 * building a fetcher (obtainToken handles everything else the same way).
 */
function cachedToken(
  deps: ExchangeDependencies,
  target: Target,
  scope: string,
): { token: EntraToken; from: 'hit' } | undefined {
  const token = deps.cache.ready(targetCacheKey(target, scope));
  if (!token) return undefined;
  deps.recent?.touch(target.name, scope);
  return { token, from: 'hit' };
}

/** The Entra token for a target and scope, from cache or one exchange shared by concurrent callers. */
async function obtainToken(deps: ExchangeDependencies, target: Target, scope: string, log: LogTarget) {
  // A shared token due for refresh is not worth taking: fetch a fresh one instead.
  const acceptAfterMs = deps.cache.options.refreshBeforeMs;
  const { key, fetcher, reportRefreshFailure, context } = targetToken(
    deps,
    target,
    scope,
    log,
    acceptAfterMs,
  );
  deps.recent?.touch(target.name, scope);
  try {
    return await deps.cache.get(key, fetcher, reportRefreshFailure);
  } catch (error) {
    throw mapUpstreamError(error, context);
  }
}
