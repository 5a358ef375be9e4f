// One audit line per token decision (broker.md step 5): who asked, for what, the outcome and why,
// and the SHA-256 of what was issued; never a token.
import { hash } from 'node:crypto';
import type { CallerPrincipal } from './callers/callerVerifier.js';
import { type LOG_EVENTS, type LogTarget, toLogLine } from './log.js';

export interface AuditRecord {
  outcome: 'granted' | 'refused' | 'failed';
  status: number;
  /** A reason code: `rule_matched`, `no_rule_matches`, `caller_token_invalid`, `entra_refused`, ... */
  reason: string;
  caller?: CallerPrincipal;
  target?: string;
  scope?: string;
  rule?: string;
  /** Entra's error code when Entra refused. */
  aadsts?: number;
  /** The target's tenant and client id, when Entra refused or failed: the operator's, never the caller's. */
  tenant?: string;
  clientId?: string;
  /** Issuer and subject of the broker's own assertion that Entra refused. */
  assertionIssuer?: string;
  assertionSubject?: string;
  /** Why the broker's own token source failed, with the fix when known (never a URL or token). */
  sourceProblem?: string;
  /** SHA-256 (hex) of the subject token presented, to correlate without keeping it. */
  subjectTokenSha256?: string;
  /** SHA-256 (hex) of the access token issued. */
  tokenSha256?: string;
  expiresAt?: string;
  cache?: 'hit' | 'miss' | 'shared';
  durationMs: number;
}

/**
 * SHA-256 of a token, hex: the only way a token may be identified in a log line. Node's one-shot hash:
 * a hash object per call cost about twice as much, once or twice per request.
 */
export const sha256 = (value: string): string => hash('sha256', value, 'hex');

/**
 * `kind:subject` plus a Google account's email when known, e.g. `google:1122…(sa@p.iam.gserviceaccount.com)`
 * or `aws-iam:arn:aws:sts::111122223333:assumed-role/app/session`.
 */
export function describeCaller(caller: CallerPrincipal): string {
  const email = caller.kind === 'google' && caller.email ? `(${caller.email})` : '';
  return `${caller.kind}:${caller.subject}${email}`;
}

/**
 * Writes the record as one `token.decision` line: the line logEvent writes, built without its walk. It
 * names each field of the event's allow-list, in the list's order (the type below refuses a field the list
 * lacks or does not name; a unit test holds the order), with the record's value or undefined, which
 * JSON.stringify leaves out. The record is the exchange's own object, of AuditRecord's fields, so its fields
 * are read as they are, where logEvent takes a caller's fields only if they are its own. One object of one
 * shape per request, where logEvent's walk looked every name up in a spread copy of the record: half the
 * line's cost, on every request (bench/README.md, eleventh round).
 */
export function audit(target: LogTarget, record: AuditRecord): void {
  const line = {
    event: 'token.decision',
    outcome: record.outcome,
    status: record.status,
    reason: record.reason,
    caller: record.caller && describeCaller(record.caller),
    target: record.target,
    scope: record.scope,
    rule: record.rule,
    aadsts: record.aadsts,
    tenant: record.tenant,
    clientId: record.clientId,
    assertionIssuer: record.assertionIssuer,
    assertionSubject: record.assertionSubject,
    sourceProblem: record.sourceProblem,
    subjectTokenSha256: record.subjectTokenSha256,
    tokenSha256: record.tokenSha256,
    expiresAt: record.expiresAt,
    cache: record.cache,
    durationMs: record.durationMs,
  } satisfies { event: 'token.decision' } & Record<(typeof LOG_EVENTS)['token.decision'][number], unknown>;
  target[record.outcome === 'failed' ? 'warn' : 'info'](toLogLine(line));
}
